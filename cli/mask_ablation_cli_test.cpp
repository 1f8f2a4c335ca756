// End-to-end tests of `gpt2-oracle mask-ablation`: bad input exits 2 with one
// line; the SVG parses as XML with one cell per table entry; an exported
// checkpoint gives the preset's numbers; and the README's section shows what
// its command prints today (and the committed heatmap is what it writes).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "cli/cli_test_support.h"
#include "model/files.h"

namespace {

namespace fs = std::filesystem;
using namespace gpt2::cli_test;
using ::testing::HasSubstr;
using ::testing::StartsWith;

fs::path source_dir() {
  const char* dir = std::getenv("GPT2_ORACLE_SOURCE_DIR");
  return dir ? fs::path(dir) : fs::path(GPT2_ORACLE_BINARY).parent_path() / ".." / "..";
}

TEST(MaskAblationCli, BadInputExitsTwoWithOneLine) {
  expect_bad_input("mask-ablation --model tiny", "--tokens");
  expect_bad_input("mask-ablation --model tiny --tokens 5,64", "64");
  expect_bad_input("mask-ablation --model tiny --tokens 5,x", "--tokens");
  expect_bad_input("mask-ablation --model tiny --tokens ''", "--tokens");
  expect_bad_input("mask-ablation --model tiny --tokens 5 --precision 7", "--precision");
  expect_bad_input("mask-ablation --model tiny --tokens 5 --kernel nope", "nope");
  expect_bad_input("mask-ablation --model nope --tokens 5", "nope");
  expect_bad_input("mask-ablation --checkpoint " + (scratch() / "missing").string() + " --tokens 5",
                   "missing");
  expect_bad_input(
      "mask-ablation --model tiny --tokens 5 --svg " + (scratch() / "no" / "x.svg").string(),
      "--svg");
  expect_bad_input("mask-ablation --model tiny --tokens 5 --json " + scratch().string(), "--json");
  std::string too_many = "0";
  for (int t = 1; t < 33; ++t) too_many += "," + std::to_string(t);  // tiny: n_ctx 32
  expect_bad_input("mask-ablation --model tiny --tokens " + too_many, "--tokens");
}

TEST(MaskAblationCli, SvgParsesAsXmlWithOneCellPerTableEntry) {
  const fs::path svg = scratch() / "ablation.svg", json = scratch() / "ablation.json";
  const Result r = run("mask-ablation --model small --tokens 5,300,17,511,42,8,128 --svg " +
                       svg.string() + " --json " + json.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The cells of the SVG (parsed as XML) against the rows of the JSON.
  const std::string check =
      "/usr/bin/env python3 -c \""
      "import json, sys, xml.etree.ElementTree as ET\n"
      "root = ET.parse(sys.argv[1]).getroot()\n"
      "assert root.tag == '{http://www.w3.org/2000/svg}svg', root.tag\n"
      "cells = [e for e in root.iter('{http://www.w3.org/2000/svg}rect') if e.get('class') == "
      "'cell']\n"
      "rows = json.load(open(sys.argv[2]))['rows']\n"
      "want = [(r['tensor'], str(t), v) for r in rows for t, v in "
      "enumerate(r['relative_difference'])]\n"
      "got = [(c.get('data-row'), c.get('data-column'), float(c.get('data-value'))) for c in "
      "cells]\n"
      "assert len(rows) == 4 + 3 and len(got) == len(want) == 7 * 7, (len(got), len(want))\n"
      "for (gr, gc, gv), (wr, wc, wv) in zip(got, want):\n"
      "    assert (gr, gc) == (wr, wc) and (gv == 0) == (wv == 0) and abs(gv - wv) <= 1e-3 * wv, "
      "(gr, gc, gv, wv)\n"
      "\" " +
      svg.string() + " " + json.string();
  EXPECT_EQ(exit_code(std::system(check.c_str())), 0) << check;
}

TEST(MaskAblationCli, ExportedCheckpointGivesThePresetsNumbers) {
  const fs::path dir = scratch() / "tiny";
  ASSERT_EQ(run("export --model tiny --out " + dir.string()).exit_code, 0);
  const Result preset = run("mask-ablation --model tiny --tokens 5,17,3,42,8 --threads 1");
  const Result checkpoint =
      run("mask-ablation --checkpoint " + dir.string() + " --tokens 5,17,3,42,8 --threads 3");
  ASSERT_EQ(preset.exit_code, 0) << preset.err;
  ASSERT_EQ(checkpoint.exit_code, 0) << checkpoint.err;
  // Everything but the first line (which names the model) is the same.
  const auto body = [](const std::string& s) { return s.substr(s.find('\n')); };
  EXPECT_EQ(body(preset.out), body(checkpoint.out));
  EXPECT_THAT(checkpoint.out, HasSubstr(dir.string()));
}

// The README block between the markers is "$ gpt2-oracle ARGS" and then the
// output, verbatim. The command is run (its --svg written to a scratch file)
// and must print exactly that, and write exactly the committed SVG.
TEST(MaskAblationCli, ReadmeShowsWhatTheCommandPrintsToday) {
  const std::string readme = gpt2::read_file((source_dir() / "README.md").string());
  const std::string begin = "<!-- mask-ablation-tiny: begin -->";
  const std::string end = "<!-- mask-ablation-tiny: end -->";
  const size_t b = readme.find(begin), e = readme.find(end);
  ASSERT_NE(b, std::string::npos) << "README.md lacks " << begin;
  ASSERT_NE(e, std::string::npos) << "README.md lacks " << end;
  const std::string block = readme.substr(b + begin.size(), e - b - begin.size());
  const std::string prompt = "$ gpt2-oracle ";
  const size_t c = block.find(prompt);
  ASSERT_NE(c, std::string::npos);
  const size_t line_end = block.find('\n', c);
  std::string args = block.substr(c + prompt.size(), line_end - c - prompt.size());
  const size_t fence = block.find("```", line_end);
  ASSERT_NE(fence, std::string::npos);
  const std::string expected = block.substr(line_end + 1, fence - line_end - 1);

  const std::string svg_option = "--svg docs/mask_ablation_tiny.svg";
  const size_t s = args.find(svg_option);
  ASSERT_NE(s, std::string::npos) << "the README command writes docs/mask_ablation_tiny.svg";
  const fs::path svg = scratch() / "readme.svg";
  args.replace(s, svg_option.size(), "--svg " + svg.string());

  const Result r = run(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, expected) << "README.md's mask-ablation section is out of date: rerun\n  "
                             << prompt
                             << block.substr(c + prompt.size(), line_end - c - prompt.size());
  EXPECT_EQ(gpt2::read_file(svg.string()),
            gpt2::read_file((source_dir() / "docs" / "mask_ablation_tiny.svg").string()))
      << "docs/mask_ablation_tiny.svg is out of date: rerun the README's command";
}

TEST(MaskAblationCli, PaddingBadInputExitsTwoWithOneLine) {
  expect_bad_input("mask-ablation --model tiny --tokens 5,6 --padding middle",
                   "--padding: expected left or right, found 'middle'");
  expect_bad_input("mask-ablation --model tiny --tokens 5,6 --pad 3", "--pad requires --padding");
  expect_bad_input("mask-ablation --model tiny --tokens 5,6 --padding left --pad 0",
                   "--pad: at least one padding column");
  expect_bad_input("mask-ablation --model tiny --tokens 5,6 --padding left --pad 31",
                   "--pad: 2 tokens and 31 padding columns exceed the context of 32 positions");
}

// The README's block for --padding, as for the causal table (without an SVG).
TEST(MaskAblationCli, ReadmePaddingSectionShowsWhatTheCommandPrintsToday) {
  const std::string readme = gpt2::read_file((source_dir() / "README.md").string());
  const std::string begin = "<!-- mask-ablation-padding-small: begin -->";
  const std::string end = "<!-- mask-ablation-padding-small: end -->";
  const size_t b = readme.find(begin), e = readme.find(end);
  ASSERT_NE(b, std::string::npos) << "README.md lacks " << begin;
  ASSERT_NE(e, std::string::npos) << "README.md lacks " << end;
  const std::string block = readme.substr(b + begin.size(), e - b - begin.size());
  const std::string prompt = "$ gpt2-oracle ";
  const size_t c = block.find(prompt);
  ASSERT_NE(c, std::string::npos);
  const size_t line_end = block.find('\n', c);
  const std::string args = block.substr(c + prompt.size(), line_end - c - prompt.size());
  const size_t fence = block.find("```", line_end);
  ASSERT_NE(fence, std::string::npos);
  const Result r = run(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, block.substr(line_end + 1, fence - line_end - 1))
      << "README.md's mask-ablation --padding section is out of date: rerun\n  " << prompt << args;
}

}  // namespace

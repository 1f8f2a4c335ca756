// End-to-end tests of the gpt2-oracle executable: exit codes 0/1/2, and bad
// input reported as exactly one line on stderr naming the file and problem.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/cli_test_support.h"
#include "model/files.h"
#include "model/trace.h"

namespace {

namespace fs = std::filesystem;
using namespace gpt2::cli_test;
using ::testing::HasSubstr;
using ::testing::StartsWith;

void write(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), bytes.size());
}

TEST(Cli, HelpListsOnlyWorkingVerbsAndExitsZero) {
  const Result r = run("--help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("inspect"));
  EXPECT_THAT(r.out, HasSubstr("export"));
  EXPECT_EQ(run("inspect --help").exit_code, 0);
}

TEST(Cli, InspectPrintsTheTinyPreset) {
  const Result r = run("inspect --model tiny");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("n_layer 2, n_head 2, n_embd 16, n_positions 32, vocab_size 64"));
  EXPECT_THAT(r.out, HasSubstr("h.1.mlp.c_proj.weight"));
  EXPECT_THAT(r.out, HasSubstr("sha256 "));
  EXPECT_EQ(r.err, "");
}

TEST(Cli, ExportThenInspectTheCheckpointAgrees) {
  const fs::path dir = scratch() / "exported_tiny";
  fs::remove_all(dir);
  ASSERT_EQ(run("export --model tiny --out " + dir.string()).exit_code, 0);
  const Result preset = run("inspect --model tiny");
  const Result checkpoint = run("inspect --checkpoint " + dir.string());
  ASSERT_EQ(checkpoint.exit_code, 0) << checkpoint.err;
  // Same weights digest: the preset reports the digest of what export writes.
  const std::string digest = "sha256 " + gpt2::sha256_file((dir / "model.safetensors").string());
  EXPECT_THAT(preset.out, HasSubstr(digest));
  EXPECT_THAT(checkpoint.out, HasSubstr(digest));
  expect_bad_input("export --model tiny --out " + dir.string(), "already exists");
}

TEST(Cli, BadInputsExitTwoWithOneLine) {
  expect_bad_input("", "A subcommand is required");
  expect_bad_input("frobnicate", "frobnicate");
  expect_bad_input("inspect --model gpt5", "unknown preset 'gpt5'");
  expect_bad_input("inspect --model tiny --checkpoint x", "excludes");
  expect_bad_input("inspect --checkpoint /nonexistent/dir", "not a checkpoint directory");
  expect_bad_input("export --model tiny", "--out is required");

  // A checkpoint whose files lie, one problem at a time.
  const fs::path dir = scratch() / "bad_checkpoint";
  fs::remove_all(dir);
  ASSERT_EQ(run("export --model tiny --out " + dir.string()).exit_code, 0);
  const std::string weights = gpt2::read_file((dir / "model.safetensors").string());
  const std::string config = gpt2::read_file((dir / "config.json").string());
  const std::string st = (dir / "model.safetensors").string();

  write(dir / "model.safetensors", weights.substr(0, weights.size() / 2));
  expect_bad_input("inspect --checkpoint " + dir.string(), st);
  write(dir / "model.safetensors", weights.substr(0, 5));
  expect_bad_input("inspect --checkpoint " + dir.string(), st);
  std::string lying = weights;
  lying[0] = '\xff';
  lying[1] = '\xff';
  lying[5] = '\x7f';  // header length far beyond the file
  write(dir / "model.safetensors", lying);
  expect_bad_input("inspect --checkpoint " + dir.string(), st);
  write(dir / "model.safetensors", weights);

  std::string bad_config = config;
  bad_config.replace(bad_config.find("\"n_head\": 2"), 11, "\"n_head\": 3");
  write(dir / "config.json", bad_config);
  expect_bad_input("inspect --checkpoint " + dir.string(), "is not divisible by n_head (3)");
  write(dir / "config.json", "{\"n_layer\": 2,");
  expect_bad_input("inspect --checkpoint " + dir.string(), "config.json: invalid JSON");
  bad_config = config;
  bad_config.replace(bad_config.find("\"vocab_size\": 64"), 16, "\"vocab_size\": 65");
  write(dir / "config.json", bad_config);
  expect_bad_input("inspect --checkpoint " + dir.string(),
                   "tensor 'wte.weight' has shape [64, 16], expected [65, 16]");
  write(dir / "config.json", config);

  // A NaN in a weight, patched into the F32 data of the last tensor.
  std::string nan_weights = weights;
  const char nan_bits[4] = {0, 0, '\xc0', '\x7f'};
  nan_weights.replace(nan_weights.size() - 4, 4, nan_bits, 4);
  write(dir / "model.safetensors", nan_weights);
  expect_bad_input("inspect --checkpoint " + dir.string(), "has a non-finite value");
}

TEST(Cli, KernelsListsOneNameAndDescriptionPerLine) {
  const Result r = run("kernels");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("bf16-autocast  "));  // in the order of their files
  for (const char* name :
       {"bf16", "eigen", "example", "f16-gelu-table", "f16kv", "fast", "ggml-f16"})
    EXPECT_THAT(r.out, HasSubstr("\n" + std::string(name) + "  "));
  EXPECT_EQ(line_count(r.out), 8);
}

TEST(Cli, DecodeGeneratesOnOneLineAndRejectsBadInput) {
  const Result r = run("decode --model tiny --tokens 5,17,3 --max-new 4");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("generated: "));
  expect_bad_input("decode --model tiny --tokens 5,64 --max-new 2", "token 1 is 64, out of range");
  expect_bad_input("decode --model tiny --tokens 1,2 --max-new 31", "exceeds the context of 32");
  expect_bad_input("decode --model tiny --tokens 1,2 --max-new 2 --kernel nope",
                   "unknown kernel set 'nope'");
}

TEST(Cli, RunWritesTracesAndRejectsBadInput) {
  const std::string out = (scratch() / "trace.safetensors").string();
  Result r = run("run --impl reference --model tiny --tokens 5,17,3 --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r =
      run("run --impl optimized --kernel bf16 --mode chunked --chunk 2 --model tiny --tokens "
          "5,17,3 --out " +
          out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_bad_input("run --model tiny --tokens 1,64 --out " + out, "out of range for vocab_size 64");
  expect_bad_input(
      "run --impl reference --mode chunked --chunk 2 --model tiny --tokens 1 --out " + out,
      "chunked is an engine mode");
  expect_bad_input("run --impl optimized --precision 50 --model tiny --tokens 1 --out " + out,
                   "--precision applies to --impl reference only");
}

TEST(Cli, RunTheReferenceUnderAProfile) {
  const std::string plain = (scratch() / "plain.safetensors").string();
  const std::string kv = (scratch() / "f16kv.safetensors").string();
  ASSERT_EQ(run("run --model tiny --tokens 5,17,3 --precision f64 --out " + plain).exit_code, 0);
  const Result r =
      run("run --model tiny --tokens 5,17,3 --precision f64 --profile f16-kv --out " + kv);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("profile f16-kv"));
  const gpt2::Trace<double> a = gpt2::read_trace(plain), b = gpt2::read_trace(kv);
  EXPECT_EQ(a.embed, b.embed) << "the embedding is before the cache";
  EXPECT_NE(a.logits, b.logits) << "the keys and values are rounded";
  expect_bad_input("run --model tiny --tokens 1 --profile fp8 --out " + kv,
                   "unknown profile 'fp8'");
  expect_bad_input("run --impl optimized --profile f16-kv --model tiny --tokens 1 --out " + kv,
                   "--profile applies to --impl reference only");
}

// profiles lists the built-ins; --profile on conformance and fixtures takes a
// name or a file, and a bad one is exit 2 with one line naming it, before
// any work (the time limit).
TEST(Cli, ProfilesAndBadProfileFiles) {
  const Result list = run("profiles");
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(line_count(list.out), 6);
  EXPECT_THAT(list.out, StartsWith("f32  "));
  EXPECT_THAT(list.out, HasSubstr("\nggml-f16  "));
  const std::string file = (scratch() / "engine.json").string();
  const std::string out = (scratch() / "case").string();
  gpt2::write_file_atomic(file, "{\"name\": \"e\", \"kv_cache\": \"f8\"}");
  expect_bad_input("conformance --model tiny --profile " + file, file, 20);
  expect_bad_input(
      "fixtures generate --model tiny --tokens 1,2 --profile " + file + " --out " + out, file, 20);
  gpt2::write_file_atomic(file, "{\"name\": \"e\", \"kv_cache\": \"f16\",}");  // not JSON
  expect_bad_input("conformance --model tiny --profile " + file, file, 20);
  gpt2::write_file_atomic(file, "{\"name\": \"e\", \"colour\": \"f16\"}");  // unknown key
  expect_bad_input("conformance --model tiny --profile " + file, "colour", 20);
  expect_bad_input("conformance --model tiny --profile fp8", "unknown profile 'fp8'", 20);
  expect_bad_input("fixtures generate --model tiny --tokens 1 --profile " +
                       (scratch() / "missing.json").string() + " --out " + out,
                   "missing.json", 20);
  // A profile that rounds the attention probabilities has no derived allowance yet.
  gpt2::write_file_atomic(file, "{\"name\": \"p\", \"attention_probs\": \"bf16\"}");
  expect_bad_input("conformance --model tiny --kernel fast --profile " + file,
                   "attention probabilities", 60);
  // generate-set: a bad profile before any case (or directory) is made; a
  // good one gives every case of the set the profile's truth (format 3).
  const std::string manifest = (scratch() / "profile_manifest.txt").string();
  const std::string set = (scratch() / "profile_set").string();
  gpt2::write_file_atomic(manifest, "short model=tiny tokens=1,2,3 causal\n");
  expect_bad_input("fixtures generate-set " + manifest + " --out " + set + " --profile " + file,
                   "attention probabilities", 20);
  EXPECT_FALSE(std::filesystem::exists(set));
  const Result r = run(
      "fixtures generate-set " + manifest + " --out " + set + " --profile f16-kv --no-truth-cache",
      120);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream in(set + "/short/case.json");
  const nlohmann::json c = nlohmann::json::parse(in);
  EXPECT_EQ(c["format_version"], 3);
  EXPECT_EQ(c["profile"]["name"], "f16-kv");
}

TEST(Cli, RunWritesOpLevelTracesOnRequest) {
  const std::string out = (scratch() / "ops.safetensors").string();
  for (const char* impl : {"--impl reference", "--impl optimized --mode incremental"}) {
    const Result r = run(std::string("run ") + impl +
                         " --model tiny --tokens 5,17,3 --trace-level ops --out " + out);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const gpt2::Trace<double> t = gpt2::read_trace(out);
    EXPECT_EQ(t.level(), gpt2::TraceLevel::ops) << impl;
    EXPECT_EQ(t.ops.size(), 2u);
  }
  expect_bad_input("run --model tiny --tokens 5 --trace-level layers --out " + out,
                   "--trace-level");
}

TEST(Cli, ReplayJudgesEveryOpOrOneOpOnChosenRows) {
  Result r = run("replay --model tiny --tokens 5,17,3,42 --chunks 2 --kernel fast --kernel eigen");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("replay [fast]: every op within budget"));
  EXPECT_THAT(r.out, HasSubstr("replay [eigen]: every op within budget"));
  const std::string json = (scratch() / "replay.json").string();
  const std::string xml = (scratch() / "replay.xml").string();
  r = run(
      "replay --model tiny --activations gpt2 --tokens 5,17,3 --kernel bf16 --op ln_2 --layer 1 "
      "--rows 1,2 --json " +
      json + " --junit " + xml);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("layer_norm ln_2, block.1: max error"));
  EXPECT_THAT(gpt2::read_file(json), HasSubstr(R"("tensor": "block.1.ln_2")"));
  EXPECT_THAT(gpt2::read_file(xml), HasSubstr(R"(name="replay layer_norm ln_2, block.1 [bf16]")"));
  expect_bad_input("replay --model tiny --tokens 5,17 --op gelu", "--op: unknown op 'gelu'");
  expect_bad_input("replay --model tiny --tokens 5,17 --op ln_1 --layer 2",
                   "needs a block in [0, 2)");
  expect_bad_input("replay --model tiny --tokens 5,17 --op logits --layer 0", "not inside a block");
  expect_bad_input("replay --model tiny --tokens 5,17 --rows 2", "beyond the 2 tokens");
  expect_bad_input("replay --model tiny --tokens 5,17 --chunks 2,1", "more than the 2 given");
  expect_bad_input("replay --model tiny --tokens 5,17 --chunks 1,x", "--chunks: expected");
  expect_bad_input("replay --model tiny --tokens 5,17 --mask none --chunks 1", "one prefill");
  expect_bad_input("fixtures generate --model tiny --activations gpt2 --tokens 1 --out x",
                   "--activations applies");
  expect_bad_input("inspect --checkpoint /nonexistent --activations gpt2", "--activations");
}

// A symbolic-link loop wherever a path is read or written: one line of bad
// input, not "internal error: filesystem error".
TEST(Cli, ASymlinkLoopIsOneLineOfBadInput) {
  const fs::path loop = scratch() / "loop";
  fs::remove(loop);
  fs::create_symlink(loop, loop);
  expect_bad_input("inspect --checkpoint " + loop.string(), "too many levels of symbolic links");
  expect_bad_input("fixtures verify " + loop.string(), "too many levels of symbolic links");
  expect_bad_input("run --model tiny --tokens 1 --out " + loop.string(),
                   "too many levels of symbolic links");
  expect_bad_input("export --model tiny --out " + loop.string(),
                   "too many levels of symbolic links");
  expect_bad_input("export --model tiny --out " + (loop / "sub").string(),
                   "too many levels of symbolic links");
}

// config.json's sizes against model.safetensors' before any allocation;
// files that are not regular are refused.
TEST(Cli, ALyingConfigOrADeviceAsWeightsIsOneLineNamingTheFile) {
  const fs::path dir = scratch() / "lying_config";
  fs::remove_all(dir);
  ASSERT_EQ(run("export --model tiny --out " + dir.string()).exit_code, 0);
  const std::string config = gpt2::read_file((dir / "config.json").string());
  const std::string weights = (dir / "model.safetensors").string();
  for (const char* layers : {"10000000", "100000000"}) {
    std::string lying = config;
    lying.replace(lying.find("\"n_layer\": 2"), 12, std::string("\"n_layer\": ") + layers);
    write(dir / "config.json", lying);
    expect_bad_input("inspect --checkpoint " + dir.string(), weights + ": ", 60);
    expect_bad_input("inspect --checkpoint " + dir.string(), "cannot hold the", 60);
  }
  write(dir / "config.json", config);
  fs::rename(weights, weights + ".real");
  fs::create_symlink("/dev/zero", weights);
  expect_bad_input("inspect --checkpoint " + dir.string(),
                   weights + ": is a character device, not a regular file", 60);
}

TEST(Cli, TokenIdsAbove2To31AreOutOfRangeNotEchoed) {
  for (const char* id : {"2147483648", "4294967301", "99999999999999999999999"}) {
    SCOPED_TRACE(id);
    const Result r = run(std::string("decode --model tiny --max-new 1 --tokens 5,") + id);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr("token 1 is out of range for vocab_size 64 (above 2^31 - 1)"));
    EXPECT_EQ(r.err.find(id), std::string::npos) << r.err;
  }
}

TEST(Cli, NegativeSeedsAreRefusedNotWrappedAround) {
  expect_bad_input("conformance --model tiny --seed -1", "--seed: expected a non-negative integer");
  expect_bad_input("decode --model tiny --tokens 1 --max-new 1 --temperature 1 --seed -1",
                   "--seed: expected a non-negative integer");
  expect_bad_input(
      "fixtures generate --model tiny --tokens 1 --seed -1 --out " + (scratch() / "never").string(),
      "--seed: expected a non-negative integer");
  EXPECT_EQ(run("decode --model tiny --tokens 1 --max-new 1 --temperature 1 --seed "
                "18446744073709551615")
                .exit_code,
            0);
}

TEST(Cli, ThreadsAreCappedAt256) {
  expect_bad_input("decode --model tiny --tokens 1 --max-new 1 --threads 257",
                   "--threads: Value 257 not in range 1 to 256");
  expect_bad_input("conformance --model tiny --threads 4096", "not in range 1 to 256");
  EXPECT_EQ(run("decode --model tiny --tokens 1 --max-new 1 --threads 256").exit_code, 0);
}

TEST(Cli, TopKWithoutTemperatureIsRefused) {
  expect_bad_input("decode --model tiny --tokens 1 --max-new 2 --top-k 5",
                   "--top-k applies to sampling: give --temperature T > 0");
  EXPECT_EQ(run("decode --model tiny --tokens 1 --max-new 2 --top-k 5 --temperature 0.8").exit_code,
            0);
}

TEST(Cli, BenchSaysWhenItShortensThePromptOrTheSteps) {
  const Result r = run("bench --model tiny --threads 1 --prompt 100 --steps 100");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("bench: --prompt 100 and --steps 100 do not fit the context of "
                               "32 positions; measuring a 16-token prompt and 16 decode steps"));
  EXPECT_THAT(r.out, HasSubstr("prefill 16 tokens"));
  const Result fits = run("bench --model tiny --threads 1 --prompt 8 --steps 8");
  ASSERT_EQ(fits.exit_code, 0) << fits.err;
  EXPECT_EQ(fits.err, "");
}

// bench names the SIMD path it runs and reports every round's decode speed,
// its triad and the CPU contention beside it, with the spread and a flag.
TEST(Cli, BenchReportsItsSimdPathAndTheSpreadOverItsRounds) {
  const auto json = scratch() / "bench.json";
  const Result r =
      run("bench --model tiny --threads 2 --prompt 8 --steps 8 --json " + json.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("SIMD path: "));
  EXPECT_THAT(r.out, HasSubstr("decode over 5 rounds: median "));
  const auto j = nlohmann::json::parse(gpt2::read_file(json.string()));
  EXPECT_TRUE(j["simd"].is_string());
  EXPECT_FALSE(j["simd_supported"].empty());
  ASSERT_EQ(j["decode_rounds"].size(), 5u);
  for (const auto& round : j["decode_rounds"]) {
    EXPECT_GT(round["decode_tok_s"].get<double>(), 0);
    EXPECT_GT(round["triad_gb_s"].get<double>(), 0);
    EXPECT_GE(round["run_queue_wait_fraction"].get<double>(), 0);
  }
  const double spread = j["decode_spread"].get<double>();
  EXPECT_GE(spread, 0);
  EXPECT_EQ(j["decode_unsteady"].get<bool>(),
            spread > j["decode_unsteady_threshold"].get<double>());
  EXPECT_EQ(j.contains("decode_unsteady_cause"), j["decode_unsteady"].get<bool>());
}

// The "generated:" lines of an output, in order.
std::vector<std::string> generated_lines(const std::string& out) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < out.size()) {
    const size_t end = out.find('\n', start);
    const std::string line = out.substr(start, end - start);
    if (line.rfind("generated:", 0) == 0) lines.push_back(line);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return lines;
}

TEST(Cli, DecodeBatchFilePrintsEachRowAsThatPromptDecodedAlone) {
  const std::vector<std::string> prompts = {"5,17,3", "8", "1,2,3,4,5,6,7", "63,0"};
  std::string file_text;
  for (const auto& p : prompts) file_text += p + "\n";
  const fs::path file = scratch() / "rows.txt";
  write(file, file_text);
  for (const char* sampling : {"", " --temperature 1.5 --seed 7"})
    for (const char* padding : {"left", "right"}) {
      SCOPED_TRACE(std::string(padding) + sampling);
      const Result batch = run("decode --model tiny --batch-file " + file.string() +
                               " --max-new 6 --padding " + padding + sampling);
      ASSERT_EQ(batch.exit_code, 0) << batch.err;
      const auto lines = generated_lines(batch.out);
      ASSERT_EQ(lines.size(), prompts.size()) << batch.out;
      for (size_t r = 0; r < prompts.size(); ++r) {
        const Result alone = run("decode --model tiny --tokens " + prompts[r] + " --max-new 6" +
                                 std::string(sampling));
        ASSERT_EQ(alone.exit_code, 0) << alone.err;
        EXPECT_EQ(lines[r], generated_lines(alone.out).at(0)) << "row " << r;
      }
    }
}

TEST(Cli, DecodeBatchFileOnACheckpointMatchesItsPreset) {
  const fs::path dir = scratch() / "batch_tiny";
  fs::remove_all(dir);
  ASSERT_EQ(run("export --model tiny --out " + dir.string()).exit_code, 0);
  const fs::path file = scratch() / "checkpoint_rows.txt";
  write(file, "5,17,3\n8\n9,9,9,9\n");
  const Result preset = run("decode --model tiny --max-new 4 --batch-file " + file.string());
  const Result checkpoint =
      run("decode --checkpoint " + dir.string() + " --max-new 4 --batch-file " + file.string());
  ASSERT_EQ(preset.exit_code, 0) << preset.err;
  ASSERT_EQ(checkpoint.exit_code, 0) << checkpoint.err;
  EXPECT_EQ(generated_lines(checkpoint.out), generated_lines(preset.out));
  EXPECT_EQ(generated_lines(preset.out).size(), 3u);
}

TEST(Cli, DecodeBadBatchFilesExitTwoWithOneLineNamingTheLine) {
  const fs::path file = scratch() / "bad_rows.txt";
  write(file, "1,2\n\n3\n");
  expect_bad_input("decode --model tiny --max-new 2 --batch-file " + file.string(),
                   file.string() + ", line 2: empty line");
  write(file, "1,2\n3,64\n");
  expect_bad_input("decode --model tiny --max-new 2 --batch-file " + file.string(),
                   file.string() + ", line 2: token 1 is 64, out of range for vocab_size 64");
  write(file, "1,x\n");
  expect_bad_input("decode --model tiny --max-new 2 --batch-file " + file.string(),
                   file.string() + ", line 1: token 1: expected a non-negative integer");
  std::string long_row = "1";
  for (int i = 0; i < 32; ++i) long_row += ",1";
  write(file, "1\n" + long_row + "\n");
  expect_bad_input("decode --model tiny --max-new 2 --batch-file " + file.string(),
                   file.string() + ", line 2: 33 tokens exceed the context of 32 positions");
  write(file, "1\n" + long_row.substr(0, 2 * 31 - 1) + "\n");  // 31 tokens + 2 > 32
  expect_bad_input("decode --model tiny --max-new 2 --batch-file " + file.string(),
                   file.string() + ", line 2: 31 tokens + --max-new (2) exceeds the context");
  write(file, "");
  expect_bad_input("decode --model tiny --max-new 2 --batch-file " + file.string(),
                   file.string() + ": no rows");
  expect_bad_input("decode --model tiny --max-new 2 --tokens 1 --batch-file " + file.string(),
                   "--batch-file gives the prompts: it excludes --tokens");
  expect_bad_input("decode --model tiny --max-new 2 --tokens 1 --padding left",
                   "--padding requires --batch-file");
  write(file, "1\n");
  expect_bad_input("decode --model tiny --max-new 2 --padding up --batch-file " + file.string(),
                   "--padding: expected left or right, found 'up'");
  expect_bad_input("decode --model tiny --max-new 2 --batch-file " + scratch().string(),
                   "is a directory");
}

TEST(Cli, BenchBatchReportsTokensPerSecondForEachBatchSize) {
  const fs::path json = scratch() / "bench_batch.json";
  const Result r = run("bench --model tiny --threads 1 --prompt 4 --steps 4 --batch 1,3 --json " +
                       json.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("batch   1:"));
  EXPECT_THAT(r.out, HasSubstr("batch   3:"));
  EXPECT_THAT(gpt2::read_file(json.string()), HasSubstr("\"batch_decode\""));
  expect_bad_input("bench --model tiny --batch 0", "--batch: a batch size is 1 to 1024");
  expect_bad_input("bench --model tiny --batch 1,,4", "--batch: expected batch sizes");
}

}  // namespace

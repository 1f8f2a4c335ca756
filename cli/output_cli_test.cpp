// End-to-end tests of how gpt2-oracle writes its outputs (model/files.h)
// when the paths, the machine or other processes misbehave: what --replace
// may delete, devices and links as outputs, bad paths found before the work,
// a failed write beside a verdict, interrupted and killed runs, concurrent
// runs in separate pid namespaces, and a case.json edited after generation.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "cli/cli_test_support.h"
#include "model/files.h"
#include "model/trace.h"

namespace {

namespace fs = std::filesystem;
using namespace gpt2::cli_test;
using ::testing::HasSubstr;

// Long enough for any check made before the work on a loaded machine, far
// shorter than the work itself on the 124M shape (minutes to hours).
constexpr int kBeforeTheWork = 60;

void write(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
}

std::vector<std::string> entries_starting(const fs::path& dir, const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind(prefix, 0) == 0) out.push_back(e.path().filename());
  return out;
}

// A directory that refuses new entries even to root (which ignores
// permission bits): /proc; for other users, a directory without write
// permission.
std::string read_only_directory() {
  if (::geteuid() == 0) return "/proc";
  const fs::path dir = scratch() / "read_only";
  fs::create_directories(dir);
  fs::permissions(dir, fs::perms(0555));
  return dir.string();
}

// A fresh tiny case at scratch()/NAME (fixtures generate).
fs::path tiny_case(const std::string& name, const std::string& tokens = "5,17,3") {
  const fs::path dir = scratch() / name;
  fs::remove_all(dir);
  const Result r =
      run("fixtures generate --model tiny --tokens " + tokens + " --out " + dir.string());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return dir;
}

// ---------------------------------------------------------------------------
// 1. --replace replaces a gpt2-oracle case and nothing else.

TEST(OutputCli, ReplaceDeletesOnlyAGpt2OracleCase) {
  const std::string generate = "fixtures generate --model tiny --tokens 1,2 --replace --out ";
  // A directory of someone's files: it used to be deleted, exit 0.
  const fs::path mine = scratch() / "mine";
  fs::create_directories(mine);
  write(mine / "keep", "precious");
  expect_bad_input(generate + mine.string(),
                   mine.string() + ": not replaced: it holds no case.json");
  EXPECT_EQ(gpt2::read_file((mine / "keep").string()), "precious");

  // A plain file.
  write(scratch() / "plain", "precious");
  expect_bad_input(generate + (scratch() / "plain").string(), "not replaced: not a directory");
  EXPECT_EQ(gpt2::read_file((scratch() / "plain").string()), "precious");

  // A case with a file of someone's added: the file would go with it.
  const fs::path with_notes = tiny_case("with_notes");
  write(with_notes / "notes.txt", "mine");
  expect_bad_input(generate + with_notes.string(), "it holds 'notes.txt'");
  EXPECT_TRUE(fs::exists(with_notes / "notes.txt"));

  // A directory whose case.json is not a case.
  const fs::path fake = scratch() / "fake";
  fs::create_directories(fake);
  write(fake / "case.json", "{}");
  expect_bad_input(generate + fake.string(), "its case.json is not one this gpt2-oracle reads");

  // A case is replaced.
  const fs::path real = tiny_case("real");
  const Result r = run(generate + real.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(gpt2::read_file((real / "case.json").string()), HasSubstr("\"tokens\": [\n    1,"));
  EXPECT_EQ(entries_starting(scratch(), ".real."), std::vector<std::string>{});
}

// The check comes before the 124M reference (hours at 50 digits).
TEST(OutputCli, ReplaceIsRefusedBeforeTheWork) {
  const fs::path mine = scratch() / "mine_big";
  fs::create_directories(mine);
  write(mine / "keep", "precious");
  expect_bad_input(
      "fixtures generate --model gpt2-124m-shape --tokens 1 --replace --out " + mine.string(),
      "not replaced: it holds no case.json", kBeforeTheWork);
}

// ---------------------------------------------------------------------------
// 2. Devices and FIFOs are written through; links are followed.

TEST(OutputCli, ADeviceOutputIsWrittenThroughNotReplaced) {
  const fs::path node = scratch() / "null_device";
  fs::remove(node);
  if (::mknod(node.c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0)
    GTEST_SKIP() << "mknod not permitted here (needs CAP_MKNOD)";
  const Result r = run("conformance --model tiny --kernel eigen --filter 'prefill T=1 ' --json " +
                       node.string() + " --junit " + node.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  struct stat st {};
  ASSERT_EQ(::lstat(node.c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode)) << "the device node was replaced by a file";
  EXPECT_EQ(entries_starting(scratch(), ".null_device."), std::vector<std::string>{});
}

TEST(OutputCli, AFifoOutputIsWrittenThrough) {
  const fs::path fifo = scratch() / "report.fifo", received = scratch() / "received.json";
  fs::remove(fifo);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string reader = "cat " + fifo.string() + " > " + received.string() + " &";
  ASSERT_EQ(std::system(reader.c_str()), 0);
  const Result r = run("conformance --model tiny --kernel eigen --filter 'prefill T=1 ' --json " +
                       fifo.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // cat ends when gpt2-oracle closes the FIFO.
  std::string got;
  for (int i = 0; i < 200 && got.find("\"results\"") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (fs::exists(received)) got = gpt2::read_file(received.string());
  }
  EXPECT_THAT(got, HasSubstr("\"results\""));
  EXPECT_EQ(fs::symlink_status(fifo).type(), fs::file_type::fifo);
}

TEST(OutputCli, StdoutRedirectedToAFileGetsTheReportAfterTheTable) {
  // The harness sends stdout to a regular file: /dev/stdout is a link to it,
  // and following that link to rename over the file would lose the table.
  const Result r =
      run("conformance --model tiny --kernel eigen --filter 'prefill T=1 ' --json /dev/stdout");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const size_t table = r.out.find("result:"), report = r.out.find("\"results\"");
  ASSERT_NE(table, std::string::npos) << r.out;
  ASSERT_NE(report, std::string::npos) << r.out;
  EXPECT_LT(table, report) << "the report comes after what the run printed";
}

TEST(OutputCli, ALinkOutputReplacesItsTargetAndStaysALink) {
  fs::create_directories(scratch() / "real_reports");
  write(scratch() / "real_reports/out.json", "old");
  fs::remove(scratch() / "link.json");
  fs::create_symlink(scratch() / "real_reports/out.json", scratch() / "link.json");
  const Result r = run("conformance --model tiny --kernel eigen --filter 'prefill T=1 ' --json " +
                       (scratch() / "link.json").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::is_symlink(scratch() / "link.json"));
  EXPECT_THAT(gpt2::read_file((scratch() / "real_reports/out.json").string()),
              HasSubstr("\"results\""));
  // A link to nothing is refused rather than guessed at.
  fs::remove(scratch() / "dangling.json");
  fs::create_symlink(scratch() / "nowhere/out.json", scratch() / "dangling.json");
  expect_bad_input("conformance --model tiny --json " + (scratch() / "dangling.json").string(),
                   "which does not exist");
}

// ---------------------------------------------------------------------------
// 5. Bad output paths are found before any work; a failed write beside a
// verdict says both.

TEST(OutputCli, BadOutputPathsAreFoundBeforeAnyWork) {
  write(scratch() / "a_file", "x");
  const std::string directory = scratch().string();
  const std::string under_a_file = (scratch() / "a_file/out").string();
  const std::string read_only = read_only_directory() + "/out";
  const std::string big = " --model gpt2-124m-shape ";
  struct Case {
    std::string args;  // ends with the option; the path follows
    std::string on_a_directory;
  };
  const std::vector<Case> verbs = {
      {"run --impl reference" + big + "--tokens 1 --out",
       "--out: " + directory + ": is a directory"},
      {"conformance" + big + "--json", "--json: " + directory + ": is a directory"},
      {"conformance" + big + "--junit", "--junit: " + directory + ": is a directory"},
      {"mask-ablation" + big + "--tokens 1,2 --svg", "--svg: " + directory + ": is a directory"},
      {"mask-ablation" + big + "--tokens 1,2 --json", "--json: " + directory + ": is a directory"},
      {"bench" + big + "--json", "--json: " + directory + ": is a directory"},
      {"fixtures generate" + big + "--tokens 1 --out", directory + ": already exists"},
      {"export" + big + "--out", directory + ": already exists"},
  };
  for (const Case& v : verbs) {
    expect_bad_input(v.args + " " + directory, v.on_a_directory, kBeforeTheWork);
    expect_bad_input(v.args + " " + under_a_file, "is a regular file, not a directory",
                     kBeforeTheWork);
    expect_bad_input(v.args + " " + read_only + ".x", "cannot create a temporary", kBeforeTheWork);
  }
  const fs::path c = tiny_case("verify_paths");
  expect_bad_input("fixtures verify " + c.string() + " --json " + directory, "is a directory");
  expect_bad_input("fixtures verify " + c.string() + " --junit " + under_a_file,
                   "is a regular file, not a directory");
}

// The trace: logits x 1.01 of the truth.
fs::path perturbed_trace(const fs::path& case_dir) {
  gpt2::Trace<double> trace = gpt2::read_trace((case_dir / "expected.safetensors").string());
  for (double& v : trace.logits) v *= 1.01;
  const fs::path out = scratch() / (case_dir.filename().string() + "_perturbed.safetensors");
  gpt2::write_trace(out.string(), trace, gpt2::TraceDtype::F32);
  return out;
}

TEST(OutputCli, AFailedWriteDoesNotHideTheVerdict) {
  const fs::path c = tiny_case("verdict");
  const std::string verify = "fixtures verify " + c.string() + " --trace ";
  // A failing trace: exit 1 with the table, and the write failure said.
  Result r = run(verify + perturbed_trace(c).string() + " --json /dev/full");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.out, HasSubstr("FAIL"));
  EXPECT_THAT(r.err, HasSubstr("--json: /dev/full: write failed (No space left on device)"));
  EXPECT_THAT(r.err, HasSubstr("the verdict above stands: a check failed (exit 1)"));
  // A passing trace (the truth itself): the write failure is the problem, exit 2.
  r = run(verify + (c / "expected.safetensors").string() + " --junit /dev/full");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.out, HasSubstr("1 of 1 pass"));
  EXPECT_THAT(r.err, HasSubstr("--junit: /dev/full: write failed"));
}

// ---------------------------------------------------------------------------
// 3. Interrupted runs: the 124M export (hundreds of megabytes) stopped by a
// signal while its temporary directory exists.

// Starts gpt2-oracle ARGS in the background (output to files in scratch()).
pid_t start(const std::vector<std::string>& args) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int out = ::open((scratch() / "bg_stdout").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = ::open((scratch() / "bg_stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::setenv("XDG_CACHE_HOME", (scratch() / "xdg-cache").c_str(), 1);  // as run() does
    std::vector<char*> argv = {const_cast<char*>(GPT2_ORACLE_BINARY)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(GPT2_ORACLE_BINARY, argv.data());
    ::_exit(127);
  }
  return pid;
}

// Waits until the export's temporary directory holds its config.json (the
// model file is then being written), up to a minute.
bool wait_for_temporary(const std::string& name) {
  for (int i = 0; i < 6000; ++i) {
    for (const auto& t : entries_starting(scratch(), "." + name + ".tmp."))
      if (fs::exists(scratch() / t / "config.json")) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST(OutputCli, AnInterruptedExportLeavesNothingBehind) {
  for (const int signal : {SIGINT, SIGTERM}) {
    SCOPED_TRACE(sigabbrev_np(signal));
    fs::remove_all(scratch() / "export124");
    const pid_t pid = start(
        {"export", "--model", "gpt2-124m-shape", "--out", (scratch() / "export124").string()});
    ASSERT_TRUE(wait_for_temporary("export124"));
    ::kill(pid, signal);
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == signal) << "status " << status;
    EXPECT_EQ(entries_starting(scratch(), ".export124."), std::vector<std::string>{});
    EXPECT_FALSE(fs::exists(scratch() / "export124"));
  }
}

TEST(OutputCli, TheNextRunOnThePathRemovesWhatAKilledRunLeft) {
  fs::remove_all(scratch() / "killed124");
  const pid_t pid =
      start({"export", "--model", "gpt2-124m-shape", "--out", (scratch() / "killed124").string()});
  ASSERT_TRUE(wait_for_temporary("killed124"));
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  ASSERT_EQ(entries_starting(scratch(), ".killed124.tmp.").size(), 1u)
      << "SIGKILL cannot be handled: the temporary stays until the next run";
  const Result r = run("export --model tiny --out " + (scratch() / "killed124").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(entries_starting(scratch(), ".killed124."), std::vector<std::string>{});
}

// ---------------------------------------------------------------------------
// 7. Concurrent runs on one path, each in its own pid namespace where
// unshare(1) allows it (then every one is pid 1: the old temporary name,
// .NAME.tmp.<pid>, was shared and one run deleted another's files).

TEST(OutputCli, ConcurrentGeneratesOfOneCaseAllSucceedEvenWithTheSamePid) {
  const bool namespaces = std::system("unshare --pid --fork true >/dev/null 2>&1") == 0;
  if (!namespaces)
    std::cout << "unshare --pid is not permitted here: the runs share one pid namespace\n";
  const std::string prefix = namespaces ? "unshare --pid --fork " : "";
  const fs::path out = scratch() / "shared_case";
  fs::remove_all(out);
  for (int round = 0; round < 3; ++round) {
    std::string script;
    for (int i = 0; i < 5; ++i) {
      const std::string status = (scratch() / ("status" + std::to_string(i))).string();
      script += "(XDG_CACHE_HOME=" + (scratch() / "xdg-cache").string() + " " + prefix +
                GPT2_ORACLE_BINARY + " fixtures generate --model tiny --tokens 5,17,3," +
                std::to_string(i) + " --threads 1 --replace --out " + out.string() +
                " >/dev/null 2>&1; echo $? > " + status + ") & ";
    }
    script += "wait";
    ASSERT_EQ(std::system(script.c_str()), 0);
    for (int i = 0; i < 5; ++i)
      EXPECT_EQ(gpt2::read_file((scratch() / ("status" + std::to_string(i))).string()), "0\n")
          << "run " << i << " of round " << round;
    const Result verify = run("fixtures verify " + out.string() + " --kernel eigen");
    EXPECT_EQ(verify.exit_code, 0) << verify.err;
    EXPECT_EQ(entries_starting(scratch(), ".shared_case."), std::vector<std::string>{});
  }
}

// ---------------------------------------------------------------------------
// 6. case.json is covered by its digest: the edits that made a wrong trace
// pass are now bad input, naming the fields.

TEST(OutputCli, AnEditedCaseJsonIsRefusedNamingTheField) {
  const fs::path c = tiny_case("edited");
  const fs::path trace = perturbed_trace(c);
  const std::string verify = "fixtures verify " + c.string() + " --trace " + trace.string();
  EXPECT_EQ(run(verify).exit_code, 1);  // logits x 1.01 fail the budget
  std::string text = gpt2::read_file((c / "case.json").string());
  for (size_t at = text.find("\"k\": 2.0"); at != std::string::npos; at = text.find("\"k\": 2.0"))
    text.replace(at, 8, "\"k\": 1e30");
  write(c / "case.json", text);
  expect_bad_input(verify, (c / "case.json").string() +
                               " was modified after it was generated: "
                               "'tensors[0].k', 'tensors[1].k'");
}

}  // namespace

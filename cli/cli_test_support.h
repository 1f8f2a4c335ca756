// Shared by the CLI's end-to-end tests: run the gpt2-oracle executable
// (GPT2_ORACLE_BINARY) with arguments and capture its exit code and output.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

#include "model/files.h"

namespace gpt2::cli_test {

struct Result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// A scratch directory for this test process: emptied at first use, removed
// when the process exits (ctest runs each test in a process of its own, so
// a directory left behind would be one per test and run).
class ScratchDirectory {
 public:
  ScratchDirectory()
      : path_(std::filesystem::temp_directory_path() /
              ("gpt2_cli_test_" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDirectory() {
    std::error_code ignored;  // nothing to report from a destructor at exit
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDirectory(const ScratchDirectory&) = delete;
  ScratchDirectory& operator=(const ScratchDirectory&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::filesystem::path scratch() {
  static const ScratchDirectory dir;
  return dir.path();
}

// The exit code of a std::system status (128 + signal when killed).
inline int exit_code(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// gpt2-oracle ARGS (through the shell, stdin closed; XDG_CACHE_HOME in this
// process's scratch directory, so the default truth cache is the test's
// own). With `limit_seconds`,
// a run that takes longer is stopped (exit code 124, timeout(1)'s): for
// checks that must come before the work.
// `env`: assignments put before the command ("NAME=value ...").
inline Result run(const std::string& args, int limit_seconds = 0, const std::string& env = "") {
  const std::string out = (scratch() / "stdout").string();
  const std::string err = (scratch() / "stderr").string();
  const std::string limit =
      limit_seconds > 0 ? "timeout " + std::to_string(limit_seconds) + " " : std::string();
  // The truth cache of this test process alone (scratch() is per process):
  // never the real home cache, never shared between tests.
  const std::string cache = "XDG_CACHE_HOME=" + (scratch() / "xdg-cache").string() + " ";
  const std::string command = cache + (env.empty() ? "" : env + " ") + limit +
                              std::string(GPT2_ORACLE_BINARY) + " " + args + " >" + out + " 2>" +
                              err + " </dev/null";
  Result r;
  r.exit_code = exit_code(std::system(command.c_str()));
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

inline int line_count(const std::string& s) {
  return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
}

// Bad input: exit 2, one line on stderr containing `expected`, no sanitizer
// report (which would add lines), nothing on stdout; within `limit_seconds`
// when given (see run).
inline void expect_bad_input(const std::string& args, const std::string& expected,
                             int limit_seconds = 0, const std::string& env = "") {
  SCOPED_TRACE(args);
  const Result r = run(args, limit_seconds, env);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(line_count(r.err), 1) << r.err;
  EXPECT_THAT(r.err, ::testing::StartsWith("gpt2-oracle: "));
  EXPECT_THAT(r.err, ::testing::HasSubstr(expected));
  EXPECT_EQ(r.out, "");
}

}  // namespace gpt2::cli_test

// The output protocol of model/files.h under faults: devices, FIFOs, links,
// killed and concurrent processes (real signals, real child processes).
#include "model/files.h"

#include <elf.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "model/error.h"

namespace gpt2 {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("gpt2_files_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }
  const fs::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

void write_plain(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
}

// The entries of `dir` whose names start with `prefix`.
std::vector<std::string> entries_starting(const fs::path& dir, const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) == 0) out.push_back(name);
  }
  return out;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

// A child process, forked now, that runs `body` (which should not return
// while the test needs it) and is killed, if still alive, at destruction.
// `ready` is written by the child once it is set up.
class Child {
 public:
  explicit Child(const std::function<void(int ready_fd)>& body) {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(fds[0]);
      body(fds[1]);
      ::_exit(0);
    }
    ::close(fds[1]);
    ready_ = fds[0];
  }
  ~Child() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(ready_);
  }
  // Blocks until the child wrote its readiness byte; false if it died first.
  bool wait_ready() {
    char c;
    return ::read(ready_, &c, 1) == 1;
  }
  // Sends `signal` and returns the wait status.
  int kill_and_wait(int signal) {
    ::kill(pid_, signal);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    reaped_ = true;
    return status;
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int ready_ = -1;
  bool reaped_ = false;
};

// What a writer puts into a FIFO, read until it closes its end.
std::string read_fifo(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  std::string out;
  char buffer[256];
  for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) out.append(buffer, size_t(n));
  ::close(fd);
  return out;
}

void signal_ready(int fd) {
  const char c = 1;
  (void)!::write(fd, &c, 1);
}

// --------------------------------------------------------------------------
// Reading

TEST(ReadFile, RefusesADeviceAFifoAndADirectoryBeforeReading) {
  TempDir tmp;
  EXPECT_THAT(error_of([] { read_file("/dev/zero"); }),
              HasSubstr("/dev/zero: is a character device, not a regular file"));
  ASSERT_EQ(::mkfifo((tmp / "fifo").c_str(), 0600), 0);
  // Without the check, opening a FIFO blocks until a writer comes.
  EXPECT_THAT(error_of([&] { read_file(tmp / "fifo"); }), HasSubstr("is a FIFO"));
  EXPECT_THAT(error_of([&] { read_file(tmp.path().string()); }), HasSubstr("is a directory"));
}

TEST(ReadFile, RefusesAFileBeyondTheSizeCap) {
  TempDir tmp;
  // Sparse: no disk space is used for the 16 GiB + 1 byte.
  const std::string big = tmp / "big.safetensors";
  write_plain(big, "");
  std::filesystem::resize_file(big, kMaxInputFileBytes + 1);
  EXPECT_THAT(error_of([&] { read_file(big); }),
              HasSubstr("17179869185 bytes, beyond the limit of 16 GiB"));
  write_plain(tmp / "small", std::string(101, 'x'));
  EXPECT_THAT(error_of([&] { read_file(tmp / "small", 100); }), HasSubstr("beyond the limit"));
  EXPECT_EQ(read_file(tmp / "small", 101).size(), 101u);
}

TEST(Sha256File, HashesAFileOfManyPiecesAsItsWholeBytesAndKeepsReadFilesChecks) {
  TempDir tmp;
  // Pieces are 1 MiB: three whole ones and a remainder, each byte different.
  std::string bytes((3 << 20) + 17, '\0');
  for (size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = static_cast<char>((i * 131 + i / 4099) % 251);
  write_plain(tmp / "pieces", bytes);
  EXPECT_EQ(sha256_file(tmp / "pieces"), sha256_hex(bytes));
  write_plain(tmp / "empty", "");
  EXPECT_EQ(sha256_file(tmp / "empty"),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_THAT(error_of([&] { sha256_file(tmp.path().string()); }), HasSubstr("is a directory"));
}

TEST(PathKind, ASymlinkLoopIsOneInputErrorNotAFilesystemError) {
  TempDir tmp;
  fs::create_symlink(tmp / "loop", tmp / "loop");
  EXPECT_THAT(error_of([&] { path_kind(tmp / "loop"); }),
              HasSubstr("too many levels of symbolic links"));
  EXPECT_THAT(error_of([&] { read_file(tmp / "loop"); }), HasSubstr("loop: cannot read"));
  EXPECT_EQ(path_kind(tmp / "nothing"), PathKind::missing);
  EXPECT_EQ(path_kind("/dev/null"), PathKind::character_device);
}

// --------------------------------------------------------------------------
// Writing a file

TEST(WriteFileAtomic, WritesThroughToACharacterDeviceWithoutReplacingIt) {
  TempDir tmp;
  // A private null device: as root the old protocol replaced /dev/null itself.
  const std::string node = tmp / "null";
  if (::mknod(node.c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0)
    GTEST_SKIP() << "mknod not permitted here (needs CAP_MKNOD)";
  write_file_atomic(node, "{\"report\": 1}\n");
  struct stat st {};
  ASSERT_EQ(::stat(node.c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode)) << "the device node was replaced";
  EXPECT_EQ(entries_starting(tmp.path(), ".null.tmp."), std::vector<std::string>{});
  EXPECT_NO_THROW(write_file_atomic("/dev/null", "x"));
  EXPECT_THAT(error_of([] { write_file_atomic("/dev/full", "x"); }),
              HasSubstr("/dev/full: write failed (No space left on device)"));
}

TEST(WriteFileAtomic, WritesThroughToAFifo) {
  TempDir tmp;
  const std::string fifo = tmp / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string received;
  std::thread reader([&] { received = read_fifo(fifo); });
  write_file_atomic(fifo, "through the pipe");
  reader.join();
  EXPECT_EQ(received, "through the pipe");
  struct stat st {};
  ASSERT_EQ(::lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
}

TEST(WriteFileAtomic, WritesToTheProcesssOwnDescriptorNotTheFileItIsOpenOn) {
  TempDir tmp;
  const std::string file = tmp / "redirected.txt";
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "printed\n", 8), 8);
  struct stat before {};
  ASSERT_EQ(::stat(file.c_str(), &before), 0);
  for (const std::string& name :
       {"/dev/fd/" + std::to_string(fd), "/proc/self/fd/" + std::to_string(fd)}) {
    check_output_file("--json", name);
    write_file_atomic(name, "report\n");
  }
  ::close(fd);
  struct stat after {};
  ASSERT_EQ(::stat(file.c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino) << "the file the descriptor is open on was replaced";
  EXPECT_EQ(read_file(file), "printed\nreport\nreport\n");
  EXPECT_EQ(entries_starting(tmp.path(), ".redirected.txt."), std::vector<std::string>{});
  // A descriptor that is not open is bad input, not a file named "9999".
  EXPECT_THROW(check_output_file("--json", "/dev/fd/9999"), gpt2::InputError);
}

TEST(WriteFileAtomic, FollowsASymbolicLinkAndReplacesItsTarget) {
  TempDir tmp;
  fs::create_directories(tmp / "real");
  write_plain(tmp / "real/out.json", "old");
  fs::create_symlink(tmp / "real/out.json", tmp / "link.json");
  write_file_atomic(tmp / "link.json", "new");
  EXPECT_TRUE(fs::is_symlink(tmp / "link.json"));
  EXPECT_EQ(read_file(tmp / "real/out.json"), "new");
  EXPECT_EQ(entries_starting(tmp.path(), ".link.json.tmp."), std::vector<std::string>{});
  EXPECT_EQ(entries_starting(tmp.path() / "real", ".out.json.tmp."), std::vector<std::string>{});
}

TEST(WriteFileAtomic, RefusesWhatIsNotAFileDeviceOrFifo) {
  TempDir tmp;
  fs::create_symlink(tmp / "missing", tmp / "dangling");
  EXPECT_THAT(error_of([&] { write_file_atomic(tmp / "dangling", "x"); }),
              HasSubstr("is a symbolic link to '" + (tmp / "missing") + "', which does not exist"));
  fs::create_symlink(tmp / "loop", tmp / "loop");
  EXPECT_THAT(error_of([&] { write_file_atomic(tmp / "loop", "x"); }),
              HasSubstr("too many levels of symbolic links"));
  EXPECT_THAT(error_of([&] { write_file_atomic(tmp.path().string(), "x"); }),
              HasSubstr("is a directory, expected a file name"));

  // A socket would have been renamed over.
  const std::string socket_path = tmp / "socket";
  const int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::snprintf(address.sun_path, sizeof address.sun_path, "%s", socket_path.c_str());
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  EXPECT_THAT(error_of([&] { write_file_atomic(socket_path, "x"); }), HasSubstr("is a socket"));
  struct stat st {};
  ASSERT_EQ(::lstat(socket_path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  ::close(s);
}

TEST(WriteFileAtomic, NewFilesGetTheUmasksModeAndReplacedFilesKeepTheirs) {
  TempDir tmp;
  write_file_atomic(tmp / "new", "x");
  const mode_t mask = ::umask(0);
  ::umask(mask);
  EXPECT_EQ(fs::status(tmp / "new").permissions(), fs::perms(0666 & ~mask));
  write_plain(tmp / "kept", "old");
  fs::permissions(tmp / "kept", fs::perms(0640));
  write_file_atomic(tmp / "kept", "new");
  EXPECT_EQ(fs::status(tmp / "kept").permissions(), fs::perms(0640));
}

// --------------------------------------------------------------------------
// Checking outputs before the work

TEST(CheckOutputFile, NamesEachBadPathBeforeAnyWork) {
  TempDir tmp;
  write_plain(tmp / "file", "x");
  EXPECT_THAT(error_of([&] { check_output_file("--json", tmp.path().string()); }),
              HasSubstr("--json: " + tmp.path().string() + ": is a directory"));
  EXPECT_THAT(error_of([&] { check_output_file("--json", tmp / "file/out.json"); }),
              HasSubstr("is a regular file, not a directory"));
  EXPECT_THAT(error_of([&] { check_output_file("--json", tmp / "no/out.json"); }),
              HasSubstr("does not exist"));
  // A directory that refuses new files: /proc refuses even root, which
  // ignores permission bits.
  const std::string read_only = ::geteuid() == 0 ? "/proc" : tmp / "read_only";
  if (::geteuid() != 0) {
    fs::create_directories(read_only);
    fs::permissions(read_only, fs::perms(0555));
  }
  EXPECT_THAT(error_of([&] { check_output_file("--out", read_only + "/trace.safetensors"); }),
              HasSubstr("cannot create a temporary file in '" + read_only + "'"));
  EXPECT_NO_THROW(check_output_file("--json", "/dev/null"));
  EXPECT_NO_THROW(check_output_file("--json", tmp / "new.json"));
  EXPECT_FALSE(fs::exists(tmp / "new.json"));
  EXPECT_EQ(entries_starting(tmp.path(), ".new.json.tmp."), std::vector<std::string>{});
}

// --------------------------------------------------------------------------
// Temporary directories, killed and concurrent processes

TEST(TemporaryDirectory, CommitRefusesAnExistingTargetEvenAnEmptyDirectory) {
  TempDir tmp;
  fs::create_directories(tmp / "target");
  TemporaryDirectory t(tmp / "target");
  write_file_atomic(t.path() + "/file", "x");
  EXPECT_THAT(error_of([&] { t.commit(); }), HasSubstr("already exists"));
  EXPECT_TRUE(fs::is_empty(tmp / "target"));
}

TEST(TemporaryDirectory, TemporariesOfOneTargetNeverShareANameAndAreLocked) {
  TempDir tmp;
  TemporaryDirectory a(tmp / "case"), b(tmp / "case");
  EXPECT_NE(a.path(), b.path());
  EXPECT_THAT(fs::path(a.path()).filename().string(),
              ::testing::MatchesRegex("\\.case\\.tmp\\.[0-9]+\\.[A-Za-z0-9]{6}"));
  // A third one for the same target cleans up after killed runs: it must take
  // neither of these (both are locked by this live process).
  TemporaryDirectory c(tmp / "case");
  EXPECT_TRUE(fs::is_directory(a.path()));
  EXPECT_TRUE(fs::is_directory(b.path()));
}

TEST(TemporaryDirectory, AnotherLiveProcesssTemporaryIsLeftAlone) {
  TempDir tmp;
  int release[2];
  ASSERT_EQ(::pipe(release), 0);
  std::string child_path_file = tmp / "child_path";
  Child child([&](int ready) {
    TemporaryDirectory t(tmp / "case");
    write_file_atomic(child_path_file, t.path());
    write_file_atomic(t.path() + "/expected.safetensors", "half");
    signal_ready(ready);
    char c;
    (void)!::read(release[0], &c, 1);  // hold it until the parent is done
    ::_exit(0);                        // leave it behind, still "owned"
  });
  ASSERT_TRUE(child.wait_ready());
  const std::string child_temporary = read_file(child_path_file);
  {
    TemporaryDirectory mine(tmp / "case");
    write_file_atomic(mine.path() + "/case.json", "{}");
    mine.commit();
  }
  EXPECT_TRUE(fs::exists(child_temporary + "/expected.safetensors"))
      << "another process's temporary was deleted";
  EXPECT_EQ(read_file(tmp / "case/case.json"), "{}");
  signal_ready(release[1]);
  ::close(release[0]);
  ::close(release[1]);
}

TEST(TemporaryDirectory, WhatAKilledRunLeftIsRemovedByTheNextRunOnThePath) {
  TempDir tmp;
  Child child([&](int ready) {
    TemporaryDirectory t(tmp / "model");
    write_file_atomic(t.path() + "/model.safetensors", std::string(1 << 20, 'w'));
    signal_ready(ready);
    ::pause();
  });
  ASSERT_TRUE(child.wait_ready());
  const int status = child.kill_and_wait(SIGKILL);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  ASSERT_EQ(entries_starting(tmp.path(), ".model.tmp.").size(), 1u) << "the killed run's temporary";
  check_output_directory("--out", tmp / "model");
  EXPECT_EQ(entries_starting(tmp.path(), ".model.tmp."), std::vector<std::string>{});
}

// SIGINT, SIGTERM and SIGHUP remove the process's temporaries, and the
// process still ends by the signal.
class SignalCleanup : public ::testing::TestWithParam<int> {};

TEST_P(SignalCleanup, RemovesTheProcesssTemporariesAndEndsByTheSignal) {
  const int signal = GetParam();
  TempDir tmp;
  Child child([&](int ready) {
    install_signal_cleanup();
    TemporaryDirectory t(tmp / "export");
    write_file_atomic(t.path() + "/config.json", "{}");
    write_file_atomic(t.path() + "/model.safetensors", std::string(1 << 20, 'w'));
    signal_ready(ready);
    for (;;) ::pause();
  });
  ASSERT_TRUE(child.wait_ready());
  ASSERT_EQ(entries_starting(tmp.path(), ".export.tmp.").size(), 1u);
  const int status = child.kill_and_wait(signal);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == signal) << "status " << status;
  EXPECT_EQ(entries_starting(tmp.path(), ".export.tmp."), std::vector<std::string>{});
  EXPECT_FALSE(fs::exists(tmp / "export"));
}

INSTANTIATE_TEST_SUITE_P(Signals, SignalCleanup, ::testing::Values(SIGINT, SIGTERM, SIGHUP),
                         [](const auto& info) { return std::string(sigabbrev_np(info.param)); });

// Runs `body` in a child process traced by this one, and SIGKILLs it at the
// `stop`-th stop among the entries and exits of its rename system calls
// (rename, renameat, renameat2): stop 1 is the entry of the first, stop 2
// its exit, stop 3 the entry of the second... Killing at an entry kills
// before the rename happens; at an exit, right after. Returns false when the
// body finished before that stop. x86-64 and AArch64 only.
bool kill_at_rename_stop(const std::function<void()>& body, int stop) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
    ::raise(SIGSTOP);
    body();
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::ptrace(PTRACE_SETOPTIONS, pid, nullptr,
           reinterpret_cast<void*>(PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL));
  int seen = 0;
  for (;;) {
    if (::ptrace(PTRACE_SYSCALL, pid, nullptr, nullptr) != 0) break;
    ::waitpid(pid, &status, 0);
    if (WIFEXITED(status) || WIFSIGNALED(status)) return false;
    if (!WIFSTOPPED(status) || WSTOPSIG(status) != (SIGTRAP | 0x80)) continue;
#if defined(__x86_64__)
    user_regs_struct regs{};
    ::ptrace(PTRACE_GETREGS, pid, nullptr, &regs);
    const long number = static_cast<long>(regs.orig_rax);
#else
    user_regs_struct regs{};
    iovec io{&regs, sizeof regs};
    ::ptrace(PTRACE_GETREGSET, pid, reinterpret_cast<void*>(NT_PRSTATUS), &io);
    const long number = static_cast<long>(regs.regs[8]);
#endif
    const bool is_rename = number == SYS_renameat || number == SYS_renameat2
#ifdef SYS_rename
                           || number == SYS_rename
#endif
        ;
    if (is_rename && ++seen == stop) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return true;
    }
  }
  ::waitpid(pid, &status, 0);
  return false;
}

// A replacement killed (SIGKILL: no handler runs) before and after each of
// its renames leaves the old directory or the new one, whole, at the target
// once the next run on the path has recovered what it left.
void expect_replacement_survives_kills(bool by_renames) {
#if !defined(__x86_64__) && !defined(__aarch64__)
  GTEST_SKIP() << "reads system-call numbers on x86-64 and AArch64 only";
#endif
  int stops = 0;
  for (int stop = 1;; ++stop) {
    SCOPED_TRACE("killed at rename stop " + std::to_string(stop));
    TempDir tmp;
    const std::string target = tmp / "case";
    TemporaryDirectory first(target);
    write_plain(first.path() + "/a", "old");
    write_plain(first.path() + "/b", "old");
    first.commit();
    const bool killed = kill_at_rename_stop(
        [&] {
          TemporaryDirectory t(target);
          write_file_atomic(t.path() + "/a", "new");
          write_file_atomic(t.path() + "/b", "new");
          by_renames ? t.commit_replacing_by_renames() : t.commit_replacing();
        },
        stop);
    check_output_directory("--out", target);  // the next run on the path: recovery
    ASSERT_TRUE(fs::is_directory(target)) << "no directory left at the target";
    const std::string a = read_file(target + "/a");
    EXPECT_EQ(read_file(target + "/b"), a);
    EXPECT_THAT(a, ::testing::AnyOf("old", "new"));
    if (!killed) {
      EXPECT_EQ(a, "new");
      break;
    }
    EXPECT_EQ(entries_starting(tmp.path(), ".case."), std::vector<std::string>{});
    ++stops;
  }
  // Two renames of files inside, then the exchange (one rename) or the
  // aside-and-in pair (two): each entry and exit was a kill point.
  EXPECT_EQ(stops, by_renames ? 8 : 6);
}

TEST(TemporaryDirectory, ReplacementKilledAroundEachRenameLeavesAWholeDirectory) {
  expect_replacement_survives_kills(false);
}

TEST(TemporaryDirectory, ReplacementByRenamesKilledBetweenThemIsRecovered) {
  expect_replacement_survives_kills(true);
}

TEST(TemporaryDirectory, ACopyLeftAsideIsPutBackOrRemoved) {
  TempDir tmp;
  // Killed between "old aside" and "new in": the target is missing.
  fs::create_directories(tmp / ".case.old.12345.abcDEF");
  write_plain(tmp / ".case.old.12345.abcDEF/case.json", "old");
  check_output_directory("--out", tmp / "case");
  EXPECT_EQ(read_file(tmp / "case/case.json"), "old");
  EXPECT_EQ(entries_starting(tmp.path(), ".case."), std::vector<std::string>{});
  // Killed after "new in": the aside copy is only garbage.
  fs::create_directories(tmp / ".case.old.12345.xyz123");
  write_plain(tmp / ".case.old.12345.xyz123/case.json", "older");
  check_output_directory("--out", tmp / "case");
  EXPECT_EQ(read_file(tmp / "case/case.json"), "old");
  EXPECT_EQ(entries_starting(tmp.path(), ".case."), std::vector<std::string>{});
}

}  // namespace
}  // namespace gpt2

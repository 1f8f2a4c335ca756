#include "model/files.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <utility>
#include <vector>

#include "model/error.h"

namespace gpt2 {

namespace fs = std::filesystem;

namespace {

std::string errno_text(int error) { return std::strerror(error); }

// Closes a descriptor on every path out of a scope.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      if (fd_ >= 0) ::close(fd_);
      fd_ = other.release();
    }
    return *this;
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

// "a character device", ... for messages.
std::string kind_name(mode_t mode) {
  if (S_ISREG(mode)) return "a regular file";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISLNK(mode)) return "a symbolic link";
  return "not a regular file";
}

std::string size_text(uint64_t bytes) {
  if (bytes >= (1ull << 30) && bytes % (1ull << 30) == 0)
    return std::to_string(bytes >> 30) + " GiB";
  return std::to_string(bytes) + " bytes";
}

// Opens `path` for reading and checks it is a regular file of at most
// `max_bytes`; returns the descriptor and the size. O_NONBLOCK so that
// opening a FIFO does not wait for a writer before it is refused.
std::pair<Fd, uint64_t> open_regular_file(const std::string& path, uint64_t max_bytes) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (fd.get() < 0) throw InputError(path + ": cannot read (" + errno_text(errno) + ")");
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    throw InputError(path + ": cannot read (" + errno_text(errno) + ")");
  if (!S_ISREG(st.st_mode))
    throw InputError(path + ": is " + kind_name(st.st_mode) + ", not a regular file");
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size > max_bytes)
    throw InputError(path + ": " + std::to_string(size) + " bytes, beyond the limit of " +
                     size_text(max_bytes) + " for an input file");
  return {std::move(fd), size};
}

// The target of an output: its directory and its name ("." for a bare name).
// InputError for a path with no usable name ("", "dir/", ".", "..").
std::pair<std::string, std::string> split_target(const std::string& path) {
  fs::path p = fs::path(path).lexically_normal();
  if (!p.has_filename() && p.has_parent_path()) p = p.parent_path();  // "out/" -> "out"
  const std::string name = p.filename().string();
  if (path.empty() || name.empty() || name == "." || name == ".." || name == "/")
    throw InputError("'" + path + "': not a usable file or directory name");
  const std::string parent = p.has_parent_path() ? p.parent_path().string() : ".";
  return {parent, name};
}

std::string join(const std::string& parent, const std::string& name) {
  return (fs::path(parent) / name).string();
}

// The directory a new entry goes into must be one.
void check_directory_exists(const std::string& path, const std::string& parent) {
  struct stat st {};
  if (::stat(parent.c_str(), &st) != 0) {
    const int e = errno;
    if (e == ENOTDIR)
      throw InputError(path + ": a component of '" + parent + "' is a file, not a directory");
    if (e == ELOOP)
      throw InputError(path + ": '" + parent + "': too many levels of symbolic links (a loop?)");
    if (e == ENOENT) throw InputError(path + ": directory '" + parent + "' does not exist");
    throw InputError(path + ": cannot look at '" + parent + "' (" + errno_text(e) + ")");
  }
  if (!S_ISDIR(st.st_mode))
    throw InputError(path + ": '" + parent + "' is " + kind_name(st.st_mode) + ", not a directory");
}

mode_t process_umask() {
  // umask(2) can only be read by setting it; no thread of this program
  // creates files while this runs (once, at the first output).
  static const mode_t mask = [] {
    const mode_t m = ::umask(0);
    ::umask(m);
    return m;
  }();
  return mask;
}

int write_all(int fd, const std::string& bytes) {
  const char* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  return 0;
}

// Best effort: some filesystems refuse fsync on a directory (EINVAL).
void fsync_directory(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() >= 0) ::fsync(fd.get());
}

bool same_file(int fd, const std::string& path) {
  struct stat a {
  }, b{};
  return ::fstat(fd, &a) == 0 && ::lstat(path.c_str(), &b) == 0 && a.st_dev == b.st_dev &&
         a.st_ino == b.st_ino;
}

// ---- The signal handlers' list of this process's temporaries. -------------
//
// Fixed slots, so that the handler touches no allocator and no lock: a slot
// is claimed (1), its path written, then published as a file (2) or a
// directory (3); freeing it stores 0. A temporary that finds no free slot is
// still removed by the next run on its path.
constexpr int kSlots = 32;
struct Slot {
  std::atomic<int> state{0};
  char path[PATH_MAX];
};
Slot g_slots[kSlots];

int register_temporary(const std::string& path, bool directory) {
  if (path.size() >= PATH_MAX) return -1;
  for (int i = 0; i < kSlots; ++i) {
    int expected = 0;
    if (!g_slots[i].state.compare_exchange_strong(expected, 1)) continue;
    std::memcpy(g_slots[i].path, path.c_str(), path.size() + 1);
    g_slots[i].state.store(directory ? 3 : 2, std::memory_order_release);
    return i;
  }
  return -1;
}

void unregister_temporary(int slot) {
  if (slot >= 0) g_slots[slot].state.store(0, std::memory_order_release);
}

// Removes a temporary directory from a signal handler: only system calls
// (open, getdents64, unlinkat, rmdir), no allocation. Temporary directories
// hold files only; a few passes catch entries a pass misses while it unlinks.
void remove_flat_directory_in_handler(const char* path) {
  const int fd = ::open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0) {
    alignas(8) char buffer[4096];
    for (int pass = 0; pass < 4; ++pass) {
      bool removed = false;
      ::lseek(fd, 0, SEEK_SET);
      for (;;) {
        const long n = ::syscall(SYS_getdents64, fd, buffer, sizeof buffer);
        if (n <= 0) break;
        for (long at = 0; at < n;) {
          const auto* entry = reinterpret_cast<const struct dirent64*>(buffer + at);
          const char* name = entry->d_name;
          if (std::strcmp(name, ".") != 0 && std::strcmp(name, "..") != 0)
            removed = ::unlinkat(fd, name, 0) == 0 || removed;
          at += entry->d_reclen;
        }
      }
      if (!removed) break;
    }
    ::close(fd);
  }
  ::rmdir(path);
}

extern "C" void remove_temporaries_and_reraise(int signal) {
  const int saved_errno = errno;
  for (Slot& slot : g_slots) {
    const int state = slot.state.load(std::memory_order_acquire);
    if (state == 2) ::unlink(slot.path);
    if (state == 3) remove_flat_directory_in_handler(slot.path);
  }
  // SA_RESETHAND put the default action back: once this handler returns,
  // the signal ends the process as it would have without the handler.
  ::raise(signal);
  errno = saved_errno;
}

// ---- Temporaries: names, locks, and what killed runs leave. ---------------

// .NAME.<kind>.<pid>.<6 random characters>, kind "tmp" or "old".
std::string temporary_prefix(const std::string& name, const char* kind) {
  return "." + name + "." + kind + ".";
}

bool is_temporary_name(const std::string& entry, const std::string& prefix) {
  if (entry.compare(0, prefix.size(), prefix) != 0) return false;
  const std::string rest = entry.substr(prefix.size());
  const size_t dot = rest.find('.');
  if (dot == 0 || dot == std::string::npos || rest.size() - dot - 1 != 6) return false;
  for (size_t i = 0; i < dot; ++i)
    if (rest[i] < '0' || rest[i] > '9') return false;
  for (size_t i = dot + 1; i < rest.size(); ++i)
    if (!std::isalnum(static_cast<unsigned char>(rest[i]))) return false;
  return true;
}

// A temporary that no process holds: opened (no link followed) and locked
// without waiting. Returns an invalid Fd when a live process holds it, or
// when it is not a plain file or directory.
Fd lock_if_abandoned(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) return Fd();
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (fd.get() < 0 || ::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) return Fd();
  if (!same_file(fd.get(), path)) return Fd();  // replaced meanwhile
  return fd;
}

void remove_entry(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
}

// What killed runs left beside parent/name: temporaries no process holds are
// removed; a directory an interrupted replacement moved aside goes back to
// `name` when nothing is there, and is removed otherwise.
void clean_up_after_killed_runs(const std::string& parent, const std::string& name) {
  const std::string tmp = temporary_prefix(name, "tmp"), old = temporary_prefix(name, "old");
  std::vector<std::string> temporaries, asides;
  std::error_code ec;
  for (fs::directory_iterator it(parent, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string entry = it->path().filename().string();
    if (is_temporary_name(entry, tmp)) temporaries.push_back(join(parent, entry));
    if (is_temporary_name(entry, old)) asides.push_back(join(parent, entry));
  }
  for (const std::string& path : temporaries)
    if (const Fd lock = lock_if_abandoned(path); lock.get() >= 0) remove_entry(path);
  const std::string target = join(parent, name);
  for (const std::string& path : asides) {
    const Fd lock = lock_if_abandoned(path);
    if (lock.get() < 0) continue;
    struct stat st {};
    const bool target_missing = ::lstat(target.c_str(), &st) != 0 && errno == ENOENT;
    if (!(target_missing && ::rename(path.c_str(), target.c_str()) == 0)) remove_entry(path);
  }
}

// A new temporary file or directory beside parent/name, locked. Between its
// creation and the lock another run could take it for abandoned and remove
// it; the lock is taken, then the name checked, and a vanished one replaced.
struct LockedTemporary {
  std::string path;
  Fd fd;
};
LockedTemporary create_locked_temporary(const std::string& parent, const std::string& name,
                                        const char* kind, bool directory,
                                        const std::string& shown) {
  const std::string what = directory ? "directory" : "file";
  for (int attempt = 0; attempt < 16; ++attempt) {
    std::string path =
        join(parent, temporary_prefix(name, kind) + std::to_string(::getpid()) + ".XXXXXX");
    Fd fd;
    if (directory) {
      if (::mkdtemp(path.data()) == nullptr)
        throw InputError(shown + ": cannot create a temporary " + what + " in '" + parent + "' (" +
                         errno_text(errno) + ")");
      fd = Fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (fd.get() < 0) continue;  // removed before it could be opened
    } else {
      fd = Fd(::mkostemp(path.data(), O_CLOEXEC));
      if (fd.get() < 0)
        throw InputError(shown + ": cannot create a temporary " + what + " in '" + parent + "' (" +
                         errno_text(errno) + ")");
    }
    if (::flock(fd.get(), LOCK_EX) != 0) {
      const int e = errno;
      remove_entry(path);
      throw InputError(shown + ": cannot lock a temporary " + what + " in '" + parent + "' (" +
                       errno_text(e) + ")");
    }
    if (same_file(fd.get(), path)) return {path, std::move(fd)};
  }
  throw InputError(shown + ": cannot keep a temporary " + what + " in '" + parent +
                   "' (removed as soon as created)");
}

// The file an output path stands for, symbolic links followed.
struct OutputFile {
  std::string path;            // resolved (the link's target), or as given when new
  bool write_through = false;  // a character device or a FIFO
  bool exists = false;
  mode_t mode = 0;
  int own_descriptor = -1;  // >= 0: the path names this process's open descriptor
};

OutputFile resolve_output_file(const std::string& path) {
  if (path.empty()) throw InputError("an output file name is empty");
  if (const int fd = own_descriptor_named_by(path); fd >= 0) {
    if (::fcntl(fd, F_GETFL) < 0)
      throw InputError(path + ": descriptor " + std::to_string(fd) + " is not open");
    return {path, true, true, 0, fd};
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) return {path, true, true, st.st_mode};
    if (S_ISDIR(st.st_mode)) throw InputError(path + ": is a directory, expected a file name");
    if (!S_ISREG(st.st_mode))
      throw InputError(path + ": is " + kind_name(st.st_mode) +
                       "; an output must be a regular file, a character device or a FIFO");
    std::error_code ec;
    const fs::path real = fs::canonical(path, ec);
    if (ec) throw InputError(path + ": cannot resolve (" + ec.message() + ")");
    return {real.string(), false, true, st.st_mode};
  }
  const int e = errno;
  if (e == ELOOP) throw InputError(path + ": too many levels of symbolic links (a loop?)");
  if (e != ENOENT && e != ENOTDIR)
    throw InputError(path + ": cannot look at it (" + errno_text(e) + ")");
  struct stat link {};
  if (::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode)) {
    std::error_code ec;
    const fs::path to = fs::read_symlink(path, ec);
    throw InputError(path + ": is a symbolic link to '" + to.string() + "', which does not exist");
  }
  const auto [parent, name] = split_target(path);
  check_directory_exists(path, parent);
  return {join(parent, name), false, false, 0};
}

void write_to_descriptor(const std::string& path, int fd, const std::string& bytes) {
  // What the run printed through its streams goes first, as it would had
  // they written the bytes themselves.
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  if (const int e = write_all(fd, bytes))
    throw InputError(path + ": write failed (" + errno_text(e) + ")");
}

void write_through(const std::string& path, const std::string& bytes) {
  const Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) throw InputError(path + ": cannot write (" + errno_text(errno) + ")");
  if (const int e = write_all(fd.get(), bytes))
    throw InputError(path + ": write failed (" + errno_text(e) + ")");
}

int rename_no_replace(const std::string& from, const std::string& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return -1;
  // A filesystem without RENAME_NOREPLACE: check, then rename (a directory
  // is never renamed over a non-empty one anyway).
  struct stat st {};
  if (::lstat(to.c_str(), &st) == 0) {
    errno = EEXIST;
    return -1;
  }
  return ::rename(from.c_str(), to.c_str());
}

}  // namespace

// The descriptor a path names when it is one of this process's own:
// /dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N. Such a path is a
// link to whatever the descriptor is open on, often a regular file
// (`--json /dev/stdout > report.txt`); following the link and renaming over
// its target would replace the file the shell opened and lose what the run
// printed to it. Writing to the descriptor itself is what the user asked for.
// -1 for any other path.
int own_descriptor_named_by(const std::string& path) {
  if (path == "/dev/stdout") return STDOUT_FILENO;
  if (path == "/dev/stderr") return STDERR_FILENO;
  for (const char* prefix : {"/dev/fd/", "/proc/self/fd/"}) {
    const std::string p(prefix);
    if (path.size() <= p.size() || path.compare(0, p.size(), p) != 0) continue;
    const std::string digits = path.substr(p.size());
    if (digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) return -1;
    return std::stoi(digits);
  }
  return -1;
}

std::string read_file(const std::string& path, uint64_t max_bytes) {
  auto [fd, size] = open_regular_file(path, max_bytes);
  std::string bytes(size, '\0');
  size_t have = 0;
  while (have < bytes.size()) {
    const ssize_t n = ::read(fd.get(), bytes.data() + have, bytes.size() - have);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw InputError(path + ": read error (" + errno_text(errno) + ")");
    if (n == 0) break;  // shrank while being read
    have += static_cast<size_t>(n);
  }
  bytes.resize(have);
  return bytes;
}

uint64_t regular_file_size(const std::string& path, uint64_t max_bytes) {
  return open_regular_file(path, max_bytes).second;
}

PathKind path_kind(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int e = errno;
    if (e == ENOENT || e == ENOTDIR) return PathKind::missing;
    if (e == ELOOP) throw InputError(path + ": too many levels of symbolic links (a loop?)");
    throw InputError(path + ": cannot look at it (" + errno_text(e) + ")");
  }
  if (S_ISREG(st.st_mode)) return PathKind::regular_file;
  if (S_ISDIR(st.st_mode)) return PathKind::directory;
  if (S_ISCHR(st.st_mode)) return PathKind::character_device;
  if (S_ISFIFO(st.st_mode)) return PathKind::fifo;
  return PathKind::other;
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  const OutputFile out = resolve_output_file(path);
  if (out.own_descriptor >= 0) return write_to_descriptor(path, out.own_descriptor, bytes);
  if (out.write_through) return write_through(path, bytes);
  const auto [parent, name] = split_target(out.path);
  clean_up_after_killed_runs(parent, name);
  LockedTemporary temporary = create_locked_temporary(parent, name, "tmp", false, path);
  const int slot = register_temporary(temporary.path, false);
  auto fail = [&](const std::string& problem) {
    ::unlink(temporary.path.c_str());
    unregister_temporary(slot);
    throw InputError(path + ": " + problem);
  };
  // A replaced file keeps its permissions; a new one gets the umask's.
  const mode_t mode = out.exists ? (out.mode & 07777) : (0666 & ~process_umask());
  if (::fchmod(temporary.fd.get(), mode) != 0)
    fail("cannot set permissions (" + errno_text(errno) + ")");
  if (const int e = write_all(temporary.fd.get(), bytes))
    fail("write failed (" + errno_text(e) + ")");
  if (::fsync(temporary.fd.get()) != 0) fail("fsync failed (" + errno_text(errno) + ")");
  // Never rename over anything but a regular file, even one that appeared
  // since the path was resolved.
  struct stat st {};
  if (::lstat(out.path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
    fail("is now " + kind_name(st.st_mode) + "; not replaced");
  if (::rename(temporary.path.c_str(), out.path.c_str()) != 0)
    fail("cannot rename the temporary file into place (" + errno_text(errno) + ")");
  unregister_temporary(slot);
  fsync_directory(parent);
}

void check_output_file(const std::string& option, const std::string& path) {
  try {
    const OutputFile out = resolve_output_file(path);
    if (out.own_descriptor >= 0) {
      if ((::fcntl(out.own_descriptor, F_GETFL) & O_ACCMODE) == O_RDONLY)
        throw InputError(path + ": descriptor " + std::to_string(out.own_descriptor) +
                         " is open for reading only");
      return;
    }
    if (out.write_through) {
      if (::access(path.c_str(), W_OK) != 0)
        throw InputError(path + ": cannot write (" + errno_text(errno) + ")");
      return;
    }
    const auto [parent, name] = split_target(out.path);
    clean_up_after_killed_runs(parent, name);
    const LockedTemporary probe = create_locked_temporary(parent, name, "tmp", false, path);
    ::unlink(probe.path.c_str());
  } catch (const InputError& e) {
    throw InputError(option + ": " + e.what());
  }
}

void check_output_directory(const std::string& option, const std::string& path) {
  try {
    const TemporaryDirectory probe(path);
  } catch (const InputError& e) {
    throw InputError(option + ": " + e.what());
  }
}

TemporaryDirectory::TemporaryDirectory(const std::string& target) : shown_(target) {
  const auto [parent, name] = split_target(target);
  parent_ = parent;
  target_ = join(parent, name);
  check_directory_exists(target, parent);
  clean_up_after_killed_runs(parent, name);
  LockedTemporary temporary = create_locked_temporary(parent, name, "tmp", true, target);
  path_ = temporary.path;
  fd_ = temporary.fd.release();
  slot_ = register_temporary(path_, true);
  // mkdtemp makes it 0700; the finished directory gets the umask's mode.
  ::fchmod(fd_, 0777 & ~process_umask());
}

TemporaryDirectory::~TemporaryDirectory() {
  if (!committed_) remove_entry(path_);
  release();
}

void TemporaryDirectory::release() {
  unregister_temporary(std::exchange(slot_, -1));
  // Once committed the directory is no temporary: its lock goes too (a later
  // replacement of it locks it afresh).
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
}

void TemporaryDirectory::commit() {
  GPT2_CHECK(!committed_, "a temporary directory is committed once");
  ::fsync(fd_);  // its entries; each file was fsynced as it was written
  if (rename_no_replace(path_, target_) != 0) {
    const int e = errno;
    if (e == EEXIST || e == ENOTEMPTY) throw InputError(shown_ + ": already exists");
    throw InputError(shown_ + ": cannot move the finished directory into place (" + errno_text(e) +
                     ")");
  }
  committed_ = true;
  release();
  fsync_directory(parent_);
}

void TemporaryDirectory::commit_replacing(const std::function<void()>& may_replace) {
  GPT2_CHECK(!committed_, "a temporary directory is committed once");
  ::fsync(fd_);  // its entries; each file was fsynced as it was written
  // Another run may put or take a directory at the target meanwhile: a few
  // rounds settle it.
  for (int round = 0; round < 8; ++round) {
    struct stat st {};
    if (::lstat(target_.c_str(), &st) != 0) {
      if (rename_no_replace(path_, target_) == 0) {
        committed_ = true;
        release();
        fsync_directory(parent_);
        return;
      }
      if (errno == EEXIST || errno == ENOTEMPTY) continue;  // one appeared
      throw InputError(shown_ + ": cannot move the finished directory into place (" +
                       errno_text(errno) + ")");
    }
    if (!S_ISDIR(st.st_mode))
      throw InputError(shown_ + ": is " + kind_name(st.st_mode) +
                       ", not a directory; not replaced");
    if (may_replace) may_replace();
    if (::renameat2(AT_FDCWD, path_.c_str(), AT_FDCWD, target_.c_str(), RENAME_EXCHANGE) != 0) {
      if (errno == ENOENT) continue;  // it went away
      if (errno == EINVAL || errno == ENOSYS) return replace_by_renames();
      throw InputError(shown_ + ": cannot put the new directory in place of the old one (" +
                       errno_text(errno) + ")");
    }
    committed_ = true;
    release();
    fsync_directory(parent_);
    // path_ now names the old directory: deleted here, or, if this process
    // dies first, by the next run as an abandoned temporary.
    remove_entry(path_);
    return;
  }
  throw InputError(shown_ + ": not replaced: other runs keep changing it");
}

void TemporaryDirectory::commit_replacing_by_renames(const std::function<void()>& may_replace) {
  GPT2_CHECK(!committed_, "a temporary directory is committed once");
  struct stat st {};
  if (::lstat(target_.c_str(), &st) != 0) return commit();
  if (may_replace) may_replace();
  ::fsync(fd_);
  replace_by_renames();
}

void TemporaryDirectory::replace_by_renames() {
  // The old directory is locked before it moves aside, so that no other run
  // takes it for abandoned while this one is alive.
  const Fd old(::open(target_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (old.get() < 0) throw InputError(shown_ + ": not replaced (" + errno_text(errno) + ")");
  if (::flock(old.get(), LOCK_EX) != 0)
    throw InputError(shown_ + ": cannot lock the old directory (" + errno_text(errno) + ")");
  const LockedTemporary aside =
      create_locked_temporary(parent_, fs::path(target_).filename().string(), "old", true, shown_);
  if (::rename(target_.c_str(), aside.path.c_str()) != 0) {
    const int e = errno;
    remove_entry(aside.path);
    throw InputError(shown_ + ": cannot move the old directory aside (" + errno_text(e) + ")");
  }
  if (::rename(path_.c_str(), target_.c_str()) != 0) {
    const int e = errno;
    ::rename(aside.path.c_str(), target_.c_str());
    throw InputError(shown_ + ": cannot move the new directory into place (" + errno_text(e) + ")");
  }
  committed_ = true;
  release();
  fsync_directory(parent_);
  remove_entry(aside.path);
}

void remove_abandoned_temporaries(const std::string& dir) {
  std::vector<std::string> temporaries;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string entry = it->path().filename().string();
    const size_t at = entry.rfind(".tmp.");
    if (entry.empty() || entry[0] != '.' || at == std::string::npos || at == 0) continue;
    if (is_temporary_name(entry, entry.substr(0, at + 5))) temporaries.push_back(join(dir, entry));
  }
  for (const std::string& path : temporaries)
    if (const Fd lock = lock_if_abandoned(path); lock.get() >= 0) remove_entry(path);
}

void install_signal_cleanup() {
  struct sigaction action {};
  action.sa_handler = remove_temporaries_and_reraise;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND;
  for (const int signal : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction current {};
    // A signal the caller ignores (nohup, a background job) stays ignored.
    if (::sigaction(signal, nullptr, &current) == 0 && current.sa_handler == SIG_IGN) continue;
    ::sigaction(signal, &action, nullptr);
  }
}

namespace {
std::string hex_of(const unsigned char* digest, unsigned int length) {
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex;
}
}  // namespace

Sha256::Sha256() {
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  GPT2_CHECK(context != nullptr, "EVP_MD_CTX_new");
  context_ = context;
  GPT2_CHECK(EVP_DigestInit_ex(context, EVP_sha256(), nullptr) == 1, "sha256 init");
}

Sha256::~Sha256() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(context_)); }

void Sha256::update(const void* data, size_t bytes) {
  GPT2_CHECK(!finished_, "Sha256::update after hex()");
  GPT2_CHECK(EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(context_), data, bytes) == 1,
             "sha256 update");
}

std::string Sha256::hex() {
  GPT2_CHECK(!finished_, "Sha256::hex called twice");
  finished_ = true;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  GPT2_CHECK(EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(context_), digest, &length) == 1,
             "sha256 final");
  return hex_of(digest, length);
}

bool is_sha256_hex(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string sha256_hex(const std::string& bytes) {
  Sha256 sha;
  sha.update(bytes);
  return sha.hex();
}

// Read a piece at a time (read_file's checks): a model's weights file is
// hashed without a copy of it in memory.
std::string sha256_file(const std::string& path) {
  auto [fd, size] = open_regular_file(path, kMaxInputFileBytes);
  Sha256 sha;
  std::vector<char> piece(1 << 20);
  for (;;) {
    const ssize_t n = ::read(fd.get(), piece.data(), piece.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw InputError(path + ": read error (" + errno_text(errno) + ")");
    if (n == 0) break;
    sha.update(piece.data(), static_cast<size_t>(n));
  }
  return sha.hex();
}

}  // namespace gpt2

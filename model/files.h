// Files: strict reading, and the one protocol by which gpt2-oracle writes
// every output (traces, reports, checkpoints, fixture cases).
//
// Reading. read_file reads a regular file only (a directory, a device or a
// FIFO is refused before a byte is read) of at most kMaxInputFileBytes.
//
// Writing a file. The output path is resolved first, following symbolic
// links (a link to nothing, or a loop, is refused). Then:
//  - a character device or a FIFO (/dev/null, /dev/stdout, a named pipe) is
//    written through: opened and written in place, never replaced;
//  - a regular file, or nothing yet, is replaced atomically: the bytes go to
//    a temporary file beside the resolved target, which is fsynced, renamed
//    onto the target, and the directory fsynced. A reader sees the old file
//    or the new one, never a part, and after a power cut the file is the
//    old one or the whole new one;
//  - anything else (a directory, a block device, a socket) is refused.
// Writing a directory (export, fixtures generate): its files go into a
// temporary directory beside the target, which is fsynced and renamed into
// place (TemporaryDirectory).
//
// Temporaries are named .NAME.tmp.<pid>.<random> beside NAME (created with
// mkstemp/mkdtemp, so two processes never share one, even with the same pid
// in different pid namespaces) and locked with flock(2) by their process for
// as long as they exist. Before writing NAME, a run removes the temporaries
// of NAME that no process holds: those of a run that was killed. A locked one
// belongs to a live process and is left alone. With install_signal_cleanup(),
// SIGINT, SIGTERM and SIGHUP remove the process's own temporaries before it
// dies; a SIGKILL leaves them to the next run on the same path.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace gpt2 {

// Largest file read_file accepts: 16 GiB. GPT-2 XL's float32
// model.safetensors is 6.4 GB; a bigger input is a mistake, not a model.
inline constexpr uint64_t kMaxInputFileBytes = 16ull << 30;

// The whole file. InputError "<path>: <problem>" for a missing or unreadable
// path, anything that is not a regular file, or a file over `max_bytes`.
std::string read_file(const std::string& path, uint64_t max_bytes = kMaxInputFileBytes);

// The size of a regular file, with read_file's checks, without reading it.
uint64_t regular_file_size(const std::string& path, uint64_t max_bytes = kMaxInputFileBytes);

// What a path names, symbolic links followed. InputError naming the path for
// a symbolic-link loop or a path that cannot be looked at (permissions).
enum class PathKind { missing, regular_file, directory, character_device, fifo, other };
PathKind path_kind(const std::string& path);

// The descriptor of this process that `path` names (/dev/stdout,
// /dev/stderr, /dev/fd/N, /proc/self/fd/N), or -1. Such an output is
// written to the descriptor, never renamed over what it is open on.
int own_descriptor_named_by(const std::string& path);

// Writes `bytes` to `path` by the protocol above. InputError naming the path
// when it is refused or cannot be written.
void write_file_atomic(const std::string& path, const std::string& bytes);

// The checks write_file_atomic would fail, made before any work starts: the
// path resolves to something writable by the protocol, its directory exists
// and accepts new files (tried by creating and removing a temporary).
// InputError "<option>: <path>: <problem>".
void check_output_file(const std::string& option, const std::string& path);

// For an output directory: its parent is a directory that accepts new
// entries (tried by creating and removing a temporary directory, which also
// clears what a killed run left there). Whether `path` may already exist is
// the caller's rule. InputError "<option>: <path>: <problem>".
void check_output_directory(const std::string& option, const std::string& path);

// A temporary directory beside `target`, for building a directory's files
// before they appear at `target` all at once. Creating one first removes the
// stale temporaries of `target` and restores a copy that an interrupted
// replacement left aside (see commit_replacing). Destroying an uncommitted
// one removes it.
class TemporaryDirectory {
 public:
  // InputError naming `target` when the directory cannot be created.
  explicit TemporaryDirectory(const std::string& target);
  ~TemporaryDirectory();
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;

  const std::string& path() const { return path_; }

  // fsyncs the directory and renames it onto the target, which must not
  // exist (InputError "already exists" otherwise; nothing is replaced).
  void commit();

  // Puts the directory at the target, replacing the directory there: the
  // two are exchanged in one rename (renameat2 RENAME_EXCHANGE) and the old
  // one is then deleted, so the target always holds the old or the new
  // directory. Where the filesystem cannot exchange, the old directory is
  // renamed aside (.NAME.old.<pid>.<random>, locked), the new one renamed in,
  // the old one deleted; a run killed in between leaves the old one aside,
  // and the next TemporaryDirectory for the target puts it back. With no
  // directory at the target, this is commit() (and if one appears meanwhile,
  // it is replaced). `may_replace`, called right before each exchange, throws
  // to keep what is there (the caller's rule of what may be replaced).
  void commit_replacing(const std::function<void()>& may_replace = {});

  // commit_replacing's way where the filesystem cannot exchange two names:
  // aside, in, delete. Public so that tests run it on any filesystem.
  void commit_replacing_by_renames(const std::function<void()>& may_replace = {});

 private:
  void release();             // unregisters it and drops its lock
  void replace_by_renames();  // aside, in, delete

  std::string shown_;   // the target as given, for messages
  std::string parent_;  // the target's directory
  std::string target_;  // parent_/NAME
  std::string path_;    // parent_/.NAME.tmp.<pid>.<random>
  int fd_ = -1;         // open on the directory, holding its lock
  int slot_ = -1;       // its entry for the signal handlers
  bool committed_ = false;
};

// Removes the temporaries (".NAME.tmp.<pid>.<random>", of any NAME) in
// `dir` that no process holds: what killed runs left there. For a directory
// of many outputs (the truth cache), where no single NAME is written again.
void remove_abandoned_temporaries(const std::string& dir);

// Installs handlers for SIGINT, SIGTERM and SIGHUP that remove this process's
// temporaries and then let the signal end the process as it would have
// (exit status 128 + signal). For programs (the CLI's main), not libraries.
void install_signal_cleanup();

// Lower-case hex SHA-256 of bytes / of a file (read_file's checks).
std::string sha256_hex(const std::string& bytes);
std::string sha256_file(const std::string& path);
// Whether s is one: 64 lower-case hex digits.
bool is_sha256_hex(const std::string& s);

// SHA-256 fed in pieces (data too large to copy into one string: a model's
// weights). hex() finishes it; update() after hex() is an internal error.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, size_t bytes);
  void update(const std::string& text) { update(text.data(), text.size()); }
  std::string hex();

 private:
  void* context_ = nullptr;  // EVP_MD_CTX
  bool finished_ = false;
};

}  // namespace gpt2

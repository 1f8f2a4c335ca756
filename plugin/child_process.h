// The parent's side of a plugin's child process: spawning it, one request at
// a time with a time limit, and saying how it ended.
#pragma once

#include <sys/types.h>

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "plugin/protocol.h"

namespace gpt2::plugin {

// The child did not answer: it ended (crashed on a signal or exited), it
// did not answer within the time limit (it is then killed), or it sent
// something the protocol does not allow (it is then killed). what(): the
// outcome in a few words, "crashed (signal 11)", "exited (status 1)",
// "hung (no answer within 2 s)", "broke the protocol (...)".
class ChildFailure : public std::runtime_error {
 public:
  enum class Kind { crashed, exited, hung, protocol };
  ChildFailure(Kind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

struct Frame {
  MessageKind kind = MessageKind::load;
  std::string payload;
};

class ChildProcess {
 public:
  // Starts `executable` with `args` (argv[1..]): its end of a Unix stream
  // socket is descriptor 3, its stdout goes to our stderr, stdin and stderr
  // are ours, every other descriptor is closed, every signal has its default
  // action and none is blocked. Throws std::runtime_error when it cannot start.
  ChildProcess(const std::string& executable, const std::vector<std::string>& args);
  // Closes the socket (the child exits on end of file), waits briefly, then
  // kills what is left and reaps it. Never throws.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Sends one frame within `timeout_s` (ChildFailure otherwise).
  void send(MessageKind kind, std::string_view payload, double timeout_s);
  // The next frame, within `timeout_s`, its payload at most `max_size` bytes
  // (ChildFailure otherwise: the child is then dead, killed if need be).
  Frame receive(double timeout_s, uint64_t max_size);
  // Sends quit and waits up to `timeout_s` for the child to exit.
  void quit(double timeout_s);
  // Kills the child now (after it sent something unusable) and reaps it.
  void abandon() { reap(0, true); }

  pid_t pid() const { return pid_; }

 private:
  // The child is of no more use: kill it (when `kill` or it outlives
  // `grace_s`), reap it, and describe how it ended.
  [[noreturn]] void fail(ChildFailure::Kind kind, const std::string& hung_or_protocol);
  std::string reap(double grace_s, bool kill_now);

  pid_t pid_ = -1;
  int fd_ = -1;
  bool reaped_ = false;
};

}  // namespace gpt2::plugin

#include "plugin/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

extern char** environ;

namespace gpt2::plugin {

namespace {

using Clock = std::chrono::steady_clock;

Clock::time_point deadline_after(double seconds) {
  return Clock::now() +
         std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

// Milliseconds left until `deadline`, for poll (0 when past it).
int remaining_ms(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : left > 1'000'000'000 ? 1'000'000'000 : static_cast<int>(left);
}

std::string seconds_text(double s) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", s);
  return text;
}

}  // namespace

ChildProcess::ChildProcess(const std::string& executable, const std::vector<std::string>& args) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    throw std::runtime_error(std::string("socketpair: ") + std::strerror(errno));
  // dup2 onto descriptor 3 clears close-on-exec, unless the descriptor is
  // already 3: move it out of the way first.
  if (sv[1] == 3) {
    const int moved = fcntl(sv[1], F_DUPFD_CLOEXEC, 10);
    close(sv[1]);
    sv[1] = moved;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, sv[1], 3);
  posix_spawn_file_actions_adddup2(&actions, 2, 1);  // the plugin's prints go to stderr
  posix_spawn_file_actions_addclosefrom_np(&actions, 4);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &all);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(executable.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const int error =
      posix_spawn(&pid_, executable.c_str(), &actions, &attributes, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  close(sv[1]);
  if (error != 0) {
    close(sv[0]);
    throw std::runtime_error("cannot start " + executable + ": " + std::strerror(error));
  }
  fd_ = sv[0];
  fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK);
}

ChildProcess::~ChildProcess() {
  if (fd_ >= 0) close(fd_);
  if (!reaped_) reap(1.0, false);
}

std::string ChildProcess::reap(double grace_s, bool kill_now) {
  if (reaped_) return "ended";
  if (kill_now) kill(pid_, SIGKILL);
  int status = 0;
  const auto deadline = deadline_after(grace_s);
  pid_t done = 0;
  while ((done = waitpid(pid_, &status, WNOHANG)) == 0 && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (done == 0) {
    kill(pid_, SIGKILL);
    while ((done = waitpid(pid_, &status, 0)) < 0 && errno == EINTR) {
    }
  }
  reaped_ = true;
  if (done < 0) return "ended";
  if (WIFSIGNALED(status)) return "crashed (signal " + std::to_string(WTERMSIG(status)) + ")";
  return "exited (status " + std::to_string(WEXITSTATUS(status)) + ")";
}

void ChildProcess::fail(ChildFailure::Kind kind, const std::string& hung_or_protocol) {
  if (kind == ChildFailure::Kind::hung || kind == ChildFailure::Kind::protocol) {
    reap(0, true);
    throw ChildFailure(kind, hung_or_protocol);
  }
  // The child closed its end: it is ending; give it a moment to finish.
  const std::string how = reap(5.0, false);
  throw ChildFailure(
      how.starts_with("crashed") ? ChildFailure::Kind::crashed : ChildFailure::Kind::exited, how);
}

void ChildProcess::send(MessageKind kind, std::string_view payload, double timeout_s) {
  if (reaped_) fail(ChildFailure::Kind::exited, "");
  const std::string frame = encode_frame(kind, payload);
  const auto deadline = deadline_after(timeout_s);
  size_t done = 0;
  while (done < frame.size()) {
    pollfd p{fd_, POLLOUT, 0};
    const int ready = poll(&p, 1, remaining_ms(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0)
      fail(ChildFailure::Kind::hung, "hung (not reading within " + seconds_text(timeout_s) + " s)");
    const ssize_t put = ::send(fd_, frame.data() + done, frame.size() - done, MSG_NOSIGNAL);
    if (put < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (put < 0) fail(ChildFailure::Kind::exited, "");  // EPIPE, ECONNRESET: it is gone
    done += size_t(put);
  }
}

Frame ChildProcess::receive(double timeout_s, uint64_t max_size) {
  if (reaped_) fail(ChildFailure::Kind::exited, "");
  const auto deadline = deadline_after(timeout_s);
  auto read_exact = [&](char* buffer, size_t n) {
    size_t done = 0;
    while (done < n) {
      pollfd p{fd_, POLLIN, 0};
      const int ready = poll(&p, 1, remaining_ms(deadline));
      if (ready < 0 && errno == EINTR) continue;
      if (ready == 0)
        fail(ChildFailure::Kind::hung, "hung (no answer within " + seconds_text(timeout_s) + " s)");
      const ssize_t got = ::recv(fd_, buffer + done, n - done, 0);
      if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (got <= 0) fail(ChildFailure::Kind::exited, "");  // end of file: the child ended
      done += size_t(got);
    }
  };
  char header[kFrameHeaderBytes];
  read_exact(header, sizeof header);
  Frame frame;
  try {
    const FrameHeader h = decode_frame_header(header, max_size);
    frame.kind = h.kind;
    frame.payload.resize(h.size);
  } catch (const ProtocolError& e) {
    fail(ChildFailure::Kind::protocol, std::string("broke the protocol (") + e.what() + ")");
  }
  if (!frame.payload.empty()) read_exact(frame.payload.data(), frame.payload.size());
  return frame;
}

void ChildProcess::quit(double timeout_s) {
  if (reaped_) return;
  try {
    send(MessageKind::quit, "", timeout_s);
  } catch (const ChildFailure&) {
    return;
  }
  reap(timeout_s, false);
}

}  // namespace gpt2::plugin

#include "property_tests/javascript_encoder.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>

extern char** environ;

namespace gpt2::properties {

JavaScriptEncoder::JavaScriptEncoder(const std::string& node, const std::string& driver,
                                     const std::string& package_dir) {
  // A dead node must surface as an error from encode(), not kill the test
  // with SIGPIPE on the next write.
  ::signal(SIGPIPE, SIG_IGN);
  int in[2], out[2];
  if (::pipe(in) != 0 || ::pipe(out) != 0)
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  for (int fd : {in[0], in[1], out[0], out[1]}) posix_spawn_file_actions_addclose(&actions, fd);
  std::vector<std::string> args = {node, driver, package_dir};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int rc = ::posix_spawn(&pid_, node.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(in[0]);
  ::close(out[1]);
  to_node_ = in[1];
  from_node_ = out[0];
  if (rc != 0) {
    ::close(to_node_);
    ::close(from_node_);
    throw std::runtime_error("cannot start '" + node + "': " + std::strerror(rc));
  }
}

JavaScriptEncoder::~JavaScriptEncoder() {
  ::close(to_node_);  // node's readline sees the end and node exits
  ::close(from_node_);
  int status = 0;
  ::waitpid(pid_, &status, 0);
}

std::vector<int> JavaScriptEncoder::encode(const std::string& text) {
  // ASCII-only JSON (\u escapes): no line break of any kind inside the line.
  const std::string line = nlohmann::json(text).dump(-1, ' ', true) + "\n";
  for (size_t written = 0; written < line.size();) {
    const ssize_t n = ::write(to_node_, line.data() + written, line.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error("node stopped reading (did it exit? see its stderr)");
    written += static_cast<size_t>(n);
  }
  size_t end;
  while ((end = pending_.find('\n')) == std::string::npos) {
    char buffer[4096];
    const ssize_t n = ::read(from_node_, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error("node closed its output (did it exit? see its stderr)");
    pending_.append(buffer, static_cast<size_t>(n));
  }
  const std::string answer = pending_.substr(0, end);
  pending_.erase(0, end + 1);
  const nlohmann::json j = nlohmann::json::parse(answer, nullptr, false);
  if (!j.is_array()) throw std::runtime_error("Encoder.js answered " + answer);
  std::vector<int> ids;
  for (const auto& id : j) {
    if (!id.is_number_integer())
      throw std::runtime_error("Encoder.js gave a non-id (a token missing from encoder.json?): " +
                               answer);
    ids.push_back(id.get<int>());
  }
  return ids;
}

}  // namespace gpt2::properties

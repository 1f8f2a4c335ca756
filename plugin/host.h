// The child process that runs a plugin's kernel sets for gpt2-oracle: the
// other end of plugin/protocol.h.
//
// The parent (plugin/plugin.h) starts a fresh process of its own executable
// as `EXE --plugin-host-child PARENT_PID`, with the protocol's socket as
// descriptor 3 and stdout sent to stderr (a plugin's prints never reach
// gpt2-oracle's stdout); main() hands over to plugin_host_main before
// anything else. The child loads the library, calls its entry point, and
// then runs one set's ops on request; everything the plugin does happens
// here, so a crash or a hang ends this process, never the oracle.
#pragma once

namespace gpt2::plugin {

inline constexpr const char* kHostFlag = "--plugin-host-child";
inline constexpr int kHostFd = 3;

// Serves the parent until it says quit or closes the socket; returns the
// process's exit status, which main passes to _exit (no atexit handlers, no
// leak check of the plugin's memory): 0, or 70 when the request stream
// itself is malformed. A fatal signal raised by the plugin (SIGSEGV,
// SIGABRT, ...) is left to kill the process, so that the parent sees it; the
// child dies with the parent (PR_SET_PDEATHSIG) and dumps no core.
int plugin_host_main(int argc, char** argv);

}  // namespace gpt2::plugin

// Kernel sets from a plugin (gpt2_oracle/plugin.h), each run in a child
// process: the parent's side.
//
//   register_plugin("./libmykernels.so", options);   // its sets join the registry
//   conformance, fixtures verify, replay: as for any set
//
// Every instance of a plugin set (each Engine, each replay) is a fresh child
// process (plugin/host.h) that loads the library, calls its entry point,
// creates the set on the weights (sent over the socket) and then runs each op
// the engine asks for: RemoteKernels forwards every Kernels call with its
// inputs and takes the output back. The engine's loop, the trace capture,
// replay and the judging all stay in this process, unchanged; only the
// plugin's arithmetic runs in the child, which also holds the KV cache the
// plugin reads and writes (one cache per instance). Every request has a time
// limit. When the child crashes, exits, hangs or breaks the protocol, the op
// throws optimized::KernelSetFailure naming what happened and where:
// "crashed (signal 11) in block.0 attention (prefill of positions 0-6)".
#pragma once

#include <string>
#include <vector>

#include "optimized/kernels.h"
#include "plugin/protocol.h"

namespace gpt2::plugin {

struct PluginOptions {
  // The limit of each request to the child (loading, create, each op),
  // seconds; a child that has not answered by then is killed.
  double call_timeout_s = 60;
  // The executable to start as the child, with kHostFlag: empty, this
  // process's own executable (gpt2-oracle). Tests name gpt2-oracle here.
  std::string host_executable;
};

struct LoadedPlugin {
  std::string path;  // absolute
  PluginListing listing;
};

// Loads the library in a child and lists its sets. InputError (the CLI's
// exit 2), one line naming the library, when it is missing or not a regular
// file, cannot be loaded, lacks gpt2_oracle_plugin_entry, declares another
// ABI version or has an unusable table; optimized::KernelSetFailure when the
// child crashes, exits or hangs while loading ("crashed (signal 11) in
// gpt2_oracle_plugin_entry").
LoadedPlugin load_plugin(const std::string& path, const PluginOptions& options);

// The KernelSet of the plugin's set `index`: its factory starts a child per
// instance. The description is the plugin's, with "(plugin LIB)" appended.
optimized::KernelSet plugin_kernel_set(const LoadedPlugin& plugin, size_t index,
                                       const PluginOptions& options);

// load_plugin, then registers every set of the library; returns their names.
// InputError when a name is already registered.
std::vector<std::string> register_plugin(const std::string& path, const PluginOptions& options);

}  // namespace gpt2::plugin

#include "plugin/plugin.h"

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <optional>

#include "gpt2_oracle/plugin.h"
#include "model/error.h"
#include "plugin/child_process.h"
#include "plugin/host.h"

namespace gpt2::plugin {

using optimized::KernelSetFailure;
using optimized::KvCache;
using optimized::NormSite;
using optimized::Pass;
using optimized::Projection;

namespace {

std::string self_executable() {
  std::error_code error;
  const auto path = std::filesystem::read_symlink("/proc/self/exe", error);
  GPT2_CHECK(!error, "cannot find this executable (/proc/self/exe) to start a plugin's process");
  return path.string();
}

ChildFailure::Kind kind_of(const ChildFailure& e) { return e.kind(); }

KernelSetFailure failure(const ChildFailure& e, const std::string& where) {
  return KernelSetFailure(std::string(e.what()) + " " + where,
                          kind_of(e) == ChildFailure::Kind::hung);
}

// The largest listing a child may send: every set's name and description.
constexpr uint64_t kMaxListingBytes = 8 + kMaxSets * (8 + kMaxSetName + kMaxDescription);

// Starts the child and loads the library in it. InputError for a refusal,
// KernelSetFailure when the child fails meanwhile.
PluginListing load_in_child(ChildProcess& child, const std::string& path, double timeout) {
  PayloadWriter w;
  w.text(path);
  const std::string name = "plugin " + path;
  std::string where = "while loading the library (dlopen)";
  try {
    child.send(MessageKind::load, w.bytes(), timeout);
    Frame f = child.receive(timeout, 8192);
    if (f.kind == MessageKind::opened) {
      where = std::string("in ") + GPT2_ORACLE_PLUGIN_ENTRY;
      f = child.receive(timeout, kMaxListingBytes);
    }
    try {
      if (f.kind == MessageKind::refused) {
        const RefusedReply r = decode_refused(f.payload);
        switch (r.reason) {
          case Refusal::cannot_open:
            throw InputError(name + ": cannot load the library: " + r.message);
          case Refusal::no_entry:
            throw InputError(name + ": the library exports no " GPT2_ORACLE_PLUGIN_ENTRY
                                    " (see gpt2_oracle/plugin.h)");
          case Refusal::abi_version:
          case Refusal::bad_table:
            throw InputError(name + ": " + r.message);
        }
      }
      if (f.kind != MessageKind::loaded)
        throw ProtocolError(std::string("a '") + message_kind_name(f.kind) + "' answer to load");
      return decode_listing(f.payload);
    } catch (const ProtocolError& e) {
      child.abandon();
      throw KernelSetFailure(std::string("broke the protocol (") + e.what() + ") " + where, false);
    }
  } catch (const ChildFailure& e) {
    throw failure(e, where);
  }
}

std::string pass_text(const Pass& p) {
  if (p.decode) return "decode at position " + std::to_string(p.pos0);
  if (p.n_tokens == 1) return "prefill of position " + std::to_string(p.pos0);
  return "prefill of positions " + std::to_string(p.pos0) + "-" + std::to_string(p.end() - 1);
}

const char* projection_name(Projection p) {
  switch (p) {
    case Projection::qkv:
      return "qkv";
    case Projection::attn_proj:
      return "attn_proj";
    case Projection::fc:
      return "fc";
    case Projection::mlp_proj:
      return "mlp_proj";
  }
  return "?";
}

// The Kernels of one plugin set, run in a child process of their own.
class RemoteKernels : public optimized::Kernels {
 public:
  RemoteKernels(const LoadedPlugin& plugin, size_t index, const PluginOptions& options,
                const Weights<float>& weights)
      : config_(weights.config),
        timeout_(options.call_timeout_s),
        child_(options.host_executable.empty() ? self_executable() : options.host_executable,
               {kHostFlag, std::to_string(getpid())}) {
    const PluginListing listing = load_in_child(child_, plugin.path, timeout_);
    const std::string& name = plugin.listing.sets.at(index).name;
    if (index >= listing.sets.size() || listing.sets[index].name != name)
      throw KernelSetFailure(
          "the library's sets changed since it was listed (set '" + name + "' is gone)", false);
    try {
      child_.send(MessageKind::create, encode_create(static_cast<uint32_t>(index), weights),
                  timeout_);
      const Frame f = child_.receive(timeout_, 8192);
      try {
        if (f.kind == MessageKind::create_failed)
          throw KernelSetFailure(decode_message(f.payload) + " (create, on a model of " +
                                     std::to_string(config_.n_layer) + " layers)",
                                 false);
        if (f.kind != MessageKind::created)
          throw ProtocolError(std::string("a '") + message_kind_name(f.kind) +
                              "' answer to create");
      } catch (const ProtocolError& e) {
        child_.abandon();
        throw KernelSetFailure(std::string("broke the protocol (") + e.what() + ") in create",
                               false);
      }
    } catch (const ChildFailure& e) {
      throw failure(e, "in create");
    }
  }

  ~RemoteKernels() override { child_.quit(timeout_); }

  void embed(const Pass& pass, const int* tokens, float* x) override {
    CallRequest c = request(Op::embed, pass);
    c.tokens.assign(tokens, tokens + pass.n_tokens);
    result_into(c, x, "embed (" + pass_text(pass) + ")");
  }

  void layer_norm(const Pass& pass, int layer, NormSite site, const float* x, int rows,
                  float* y) override {
    CallRequest c = request(Op::layer_norm, pass);
    c.layer = site == NormSite::ln_f ? 0 : layer;
    c.which = static_cast<int32_t>(site);
    c.rows = rows;
    c.input.assign(x, x + size_t(rows) * config_.n_embd);
    const char* site_name = site == NormSite::ln_1   ? "ln_1"
                            : site == NormSite::ln_2 ? "ln_2"
                                                     : "ln_f";
    result_into(c, y,
                (site == NormSite::ln_f ? std::string() : block(layer)) + "layer_norm " +
                    site_name + " (" + pass_text(pass) + ")");
  }

  void project(const Pass& pass, int layer, Projection p, const float* x, float* y,
               bool accumulate) override {
    CallRequest c = request(Op::project, pass);
    c.layer = layer;
    c.which = static_cast<int32_t>(p);
    c.accumulate = accumulate;
    c.input.assign(x, x + size_t(pass.n_tokens) * optimized::projection_in(config_, p));
    if (accumulate)
      c.output.assign(y, y + size_t(pass.n_tokens) * optimized::projection_out(config_, p));
    result_into(c, y,
                block(layer) + "project " + projection_name(p) + " (" + pass_text(pass) + ")");
  }

  void project_gelu(const Pass& pass, int layer, const float* x, float* y) override {
    CallRequest c = request(Op::project_gelu, pass);
    c.layer = layer;
    c.input.assign(x, x + size_t(pass.n_tokens) * config_.n_embd);
    result_into(c, y, block(layer) + "project_gelu fc (" + pass_text(pass) + ")");
  }

  void gelu(float* x, size_t n) override {
    CallRequest c;
    c.op = Op::gelu;
    c.output.assign(x, x + n);
    result_into(c, x, "gelu");
  }

  void write_cache(const Pass& pass, int layer, const float* qkv, KvCache& cache) override {
    check_cache(cache);
    CallRequest c = request(Op::write_cache, pass);
    c.layer = layer;
    c.input.assign(qkv, qkv + size_t(pass.n_tokens) * 3 * config_.n_embd);
    result_into(c, nullptr, block(layer) + "write_cache (" + pass_text(pass) + ")");
  }

  void attention(const Pass& pass, int layer, const float* qkv, const KvCache& cache,
                 float* out) override {
    check_cache(cache);
    CallRequest c = request(Op::attention, pass);
    c.layer = layer;
    c.input.assign(qkv, qkv + size_t(pass.n_tokens) * 3 * config_.n_embd);
    result_into(c, out, block(layer) + "attention (" + pass_text(pass) + ")");
  }

  void logits(const Pass& pass, const float* x, int rows, float* out) override {
    CallRequest c = request(Op::logits, pass);
    c.rows = rows;
    c.input.assign(x, x + size_t(rows) * config_.n_embd);
    result_into(c, out, "logits (" + pass_text(pass) + ")");
  }

  size_t weight_bytes_per_token() const override {
    // As float32: what the plugin streams is its own affair.
    const int64_t C = config_.n_embd;
    return size_t(config_.vocab_size * C + config_.n_layer * 12 * C * C) * sizeof(float);
  }

 private:
  static std::string block(int layer) { return "block." + std::to_string(layer) + " "; }

  CallRequest request(Op op, const Pass& pass) const {
    CallRequest c;
    c.op = op;
    c.pos0 = pass.pos0;
    c.n_tokens = pass.n_tokens;
    c.mask = pass.mask == Mask::none ? 1 : 0;
    c.decode = pass.decode ? 1 : 0;
    return c;
  }

  // The plugin's cache lives in the child: one per instance, so every call
  // must name the same one (the engine's, or replay's).
  void check_cache(const KvCache& cache) {
    if (!cache_) cache_ = cache.identity();
    GPT2_CHECK(cache_ == cache.identity(),
               "a plugin set's instance is used with a second KV cache");
  }

  // Runs the call in the child and copies its output to `out`; throws
  // KernelSetFailure naming `location` when the child fails. After a
  // failure every call fails the same way.
  void result_into(const CallRequest& c, float* out, const std::string& location) {
    if (failed_) throw *failed_;
    const uint64_t count = result_count(c, config_);
    try {
      child_.send(MessageKind::call, encode_call(c), timeout_);
      const Frame f = child_.receive(timeout_, 8 + count * sizeof(float));
      std::vector<float> values;
      try {
        if (f.kind != MessageKind::result)
          throw ProtocolError(std::string("a '") + message_kind_name(f.kind) +
                              "' answer to a call");
        values = decode_result(f.payload, count);
      } catch (const ProtocolError& e) {
        child_.abandon();
        failed_ = KernelSetFailure(
            std::string("broke the protocol (") + e.what() + ") in " + location, false);
        throw *failed_;
      }
      std::copy(values.begin(), values.end(), out);
    } catch (const ChildFailure& e) {
      failed_ = failure(e, "in " + location);
      throw *failed_;
    }
  }

  Config config_;
  double timeout_;
  ChildProcess child_;
  const void* cache_ = nullptr;  // KvCache::identity() of the cache in use
  std::optional<KernelSetFailure> failed_;
};

}  // namespace

LoadedPlugin load_plugin(const std::string& path, const PluginOptions& options) {
  std::error_code error;
  const auto status = std::filesystem::status(path, error);
  if (!std::filesystem::exists(status)) throw InputError("plugin " + path + ": no such file");
  if (!std::filesystem::is_regular_file(status))
    throw InputError("plugin " + path + ": not a regular file (a shared library is expected)");
  LoadedPlugin plugin;
  plugin.path = std::filesystem::absolute(path).lexically_normal().string();
  ChildProcess child(options.host_executable.empty() ? self_executable() : options.host_executable,
                     {kHostFlag, std::to_string(getpid())});
  try {
    plugin.listing = load_in_child(child, plugin.path, options.call_timeout_s);
  } catch (const KernelSetFailure& e) {
    throw KernelSetFailure("plugin " + path + ": " + e.what(), e.hung());
  }
  child.quit(options.call_timeout_s);
  return plugin;
}

optimized::KernelSet plugin_kernel_set(const LoadedPlugin& plugin, size_t index,
                                       const PluginOptions& options) {
  const SetListing& set = plugin.listing.sets.at(index);
  const std::string file = std::filesystem::path(plugin.path).filename().string();
  return optimized::KernelSet{
      set.name,
      (set.description.empty() ? "" : set.description + " ") + "(plugin " + file + ")",
      [plugin, index, options](const Weights<float>& weights,
                               optimized::ThreadPool&) -> std::unique_ptr<optimized::Kernels> {
        return std::make_unique<RemoteKernels>(plugin, index, options, weights);
      },
      {},
      /*batch_invariant=*/false,
      /*runs_batches=*/false};
}

std::vector<std::string> register_plugin(const std::string& path, const PluginOptions& options) {
  const LoadedPlugin plugin = load_plugin(path, options);
  std::vector<std::string> names;
  for (size_t i = 0; i < plugin.listing.sets.size(); ++i) {
    const std::string& name = plugin.listing.sets[i].name;
    for (const auto& existing : optimized::kernels())
      if (existing.name == name)
        throw InputError("plugin " + path + ": its set '" + name +
                         "' has the name of a kernel set already registered");
    optimized::register_kernel_set(plugin_kernel_set(plugin, i, options));
    names.push_back(name);
  }
  return names;
}

}  // namespace gpt2::plugin

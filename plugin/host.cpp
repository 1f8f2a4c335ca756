#include "plugin/host.h"

#include <dlfcn.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "gpt2_oracle/plugin.h"
#include "plugin/c_kernels.h"
#include "plugin/protocol.h"

namespace gpt2::plugin {

namespace {

// Ends the serving loop with the process's exit status (plugin_host_main
// returns it; main exits with it).
struct HostExit {
  int status;
};

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "gpt2-oracle plugin host: %s\n", why.c_str());
  throw HostExit{70};
}

// False on end of file before the first byte.
bool read_exact(int fd, void* buffer, size_t n) {
  char* p = static_cast<char*>(buffer);
  size_t done = 0;
  while (done < n) {
    const ssize_t got = ::read(fd, p + done, n - done);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) die(std::string("reading the request: ") + std::strerror(errno));
    if (got == 0) {
      if (done == 0) return false;
      die("the request was cut short");
    }
    done += size_t(got);
  }
  return true;
}

void send(int fd, MessageKind kind, std::string_view payload) {
  const std::string frame = encode_frame(kind, payload);
  size_t done = 0;
  while (done < frame.size()) {
    const ssize_t put = ::write(fd, frame.data() + done, frame.size() - done);
    if (put < 0 && errno == EINTR) continue;
    if (put < 0) throw HostExit{0};  // the parent is gone
    done += size_t(put);
  }
}

// One line of text, whatever the plugin or the loader wrote.
std::string one_line(std::string s) {
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  if (s.size() > 1000) s.resize(1000);
  return s;
}

// The plugin's fatal signals must kill this process, so that the parent can
// name them: undo what a runtime (a sanitizer's handlers) installed.
void default_fatal_signals() {
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS})
    std::signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

std::vector<float> run_call(optimized::Kernels& k, optimized::KvCache& cache,
                            const CallRequest& call, const Config& config) {
  const optimized::Pass pass{call.pos0, call.n_tokens, call.mask == 1 ? Mask::none : Mask::causal,
                             call.decode != 0};
  std::vector<float> out(result_count(call, config), 0.0f);
  const int l = call.layer;
  switch (call.op) {
    case Op::embed:
      k.embed(pass, call.tokens.data(), out.data());
      break;
    case Op::layer_norm:
      k.layer_norm(pass, call.which == 2 ? 0 : l, static_cast<optimized::NormSite>(call.which),
                   call.input.data(), call.rows, out.data());
      break;
    case Op::project:
      if (call.accumulate) out = call.output;
      k.project(pass, l, static_cast<optimized::Projection>(call.which), call.input.data(),
                out.data(), call.accumulate != 0);
      break;
    case Op::project_gelu:
      k.project_gelu(pass, l, call.input.data(), out.data());
      break;
    case Op::gelu:
      out = call.output;
      k.gelu(out.data(), out.size());
      break;
    case Op::write_cache:
      k.write_cache(pass, l, call.input.data(), cache);
      break;
    case Op::attention:
      k.attention(pass, l, call.input.data(), cache, out.data());
      break;
    case Op::logits:
      k.logits(pass, call.input.data(), call.rows, out.data());
      break;
  }
  return out;
}

}  // namespace

namespace {
void serve(int argc, char** argv);
}  // namespace

int plugin_host_main(int argc, char** argv) {
  try {
    serve(argc, argv);
  } catch (const HostExit& e) {
    return e.status;
  }
  return 0;
}

namespace {

void serve(int argc, char** argv) {
  if (argc != 3) die("usage: gpt2-oracle --plugin-host-child PARENT_PID");
  // Die with the parent; if it is already gone, there is no one to serve.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (std::to_string(getppid()) != argv[2]) return;
  const struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  default_fatal_signals();

  const int fd = kHostFd;
  const gpt2_oracle_plugin* table = nullptr;
  std::unique_ptr<CKernels> kernels;
  std::unique_ptr<optimized::KvCache> cache;
  Config config;
  for (;;) {
    char header[kFrameHeaderBytes];
    if (!read_exact(fd, header, sizeof header)) return;  // the parent closed the socket
    FrameHeader h;
    std::string payload;
    try {
      h = decode_frame_header(header, uint64_t(1) << 40);
      payload.resize(h.size);
      if (h.size && !read_exact(fd, payload.data(), h.size)) die("the request was cut short");
      switch (h.kind) {
        case MessageKind::load: {
          if (table) die("a second load");
          PayloadReader r(payload);
          const std::string path = r.text("the library path", 1 << 16);
          r.finish("load");
          void* library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
          if (!library) {
            const char* e = dlerror();
            send(fd, MessageKind::refused,
                 encode_refused({Refusal::cannot_open, one_line(e ? e : "dlopen failed")}));
            break;
          }
          send(fd, MessageKind::opened, "");
          dlerror();
          void* entry = dlsym(library, GPT2_ORACLE_PLUGIN_ENTRY);
          if (!entry) {
            send(fd, MessageKind::refused,
                 encode_refused({Refusal::no_entry, std::string("the library exports no ") +
                                                        GPT2_ORACLE_PLUGIN_ENTRY}));
            break;
          }
          const gpt2_oracle_plugin* t = reinterpret_cast<gpt2_oracle_plugin_entry_fn>(entry)();
          if (t && t->abi_version != GPT2_ORACLE_PLUGIN_ABI_VERSION) {
            send(fd, MessageKind::refused,
                 encode_refused({Refusal::abi_version, one_line(check_plugin_table(t))}));
            break;
          }
          if (const std::string e = check_plugin_table(t); !e.empty()) {
            send(fd, MessageKind::refused, encode_refused({Refusal::bad_table, one_line(e)}));
            break;
          }
          table = t;
          PluginListing listing;
          listing.abi_version = t->abi_version;
          for (uint32_t i = 0; i < t->n_sets; ++i)
            listing.sets.push_back(
                {t->sets[i].name, t->sets[i].description ? t->sets[i].description : ""});
          send(fd, MessageKind::loaded, encode_listing(listing));
          break;
        }
        case MessageKind::create: {
          if (!table || kernels) die("create before load, or twice");
          uint32_t index = 0;
          Weights<float> weights = decode_create(payload, index);
          if (index >= table->n_sets) die("create of an unknown set");
          config = weights.config;
          try {
            kernels = std::make_unique<CKernels>(table->sets[index], weights);
          } catch (const KernelsCreateFailed& e) {
            send(fd, MessageKind::create_failed, encode_message(e.what()));
            break;
          }
          cache = std::make_unique<optimized::KvCache>(config);
          send(fd, MessageKind::created, "");
          break;
        }
        case MessageKind::call: {
          if (!kernels) die("a call before create");
          const CallRequest call = decode_call(payload, config);
          send(fd, MessageKind::result, encode_result(run_call(*kernels, *cache, call, config)));
          break;
        }
        case MessageKind::quit:
          kernels.reset();  // the set's destroy
          return;
        default:
          die(std::string("unexpected request '") + message_kind_name(h.kind) + "'");
      }
    } catch (const std::exception& e) {
      die(std::string("a malformed request: ") + e.what());
    }
  }
}

}  // namespace

}  // namespace gpt2::plugin

// The protocol between gpt2-oracle and the child process that runs a plugin
// (plugin/host.h), over one Unix stream socket.
//
// Every message is a frame: a 16-byte header {magic "G2OP", kind (uint32),
// payload size (uint64)}, native byte order (both ends are the same
// executable on the same machine), then the payload. The parent asks, the
// child answers; one request is in flight at a time:
//
//   parent                                    child
//   load {library path}                  ->   dlopen(path)
//                                        <-   opened                (dlopen returned)
//                                             gpt2_oracle_plugin_entry(), table checked
//                                        <-   loaded {ABI version, sets: name, description}
//                                          |  refused {reason, message}
//   create {set index, config, weights}  ->   set.create(&weights)
//                                        <-   created | create_failed {message}
//   call {op, layer, site/projection,    ->   the op, on the child's KV cache
//         accumulate, pass, rows, tokens,
//         input, output (accumulate)}
//                                        <-   result {output floats}
//   quit                                 ->   set.destroy(); the child exits
//
// The parent is the judge and must survive anything the child sends: every
// decode_* function below checks sizes, counts and text before use and
// throws ProtocolError (a plugin can write to the socket itself). They are
// fuzzed (fuzz/plugin_reply_fuzz.cpp). The child trusts the parent (the same
// binary) but still checks bounds, and exits on a malformed request.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "model/weights.h"

namespace gpt2::plugin {

// The child sent something this protocol does not allow.
class ProtocolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class MessageKind : uint32_t {
  // parent -> child
  load = 1,
  create = 2,
  call = 3,
  quit = 4,
  // child -> parent
  opened = 101,
  loaded = 102,
  refused = 103,
  created = 104,
  create_failed = 105,
  result = 106,
};
const char* message_kind_name(MessageKind kind);

inline constexpr size_t kFrameHeaderBytes = 16;
inline constexpr uint32_t kFrameMagic = 0x504f3247;  // "G2OP" in little-endian bytes

struct FrameHeader {
  MessageKind kind = MessageKind::load;
  uint64_t size = 0;
};

// Header and payload as bytes.
std::string encode_frame(MessageKind kind, std::string_view payload);
// The header at `bytes` (kFrameHeaderBytes of them); ProtocolError for a bad
// magic, an unknown kind or a size above `max_size`.
FrameHeader decode_frame_header(const void* bytes, uint64_t max_size);

// ---- payloads ---------------------------------------------------------------------

// Appends fixed-size values and counted arrays to a payload.
class PayloadWriter {
 public:
  void u32(uint32_t v) { raw(&v, sizeof v); }
  void i32(int32_t v) { raw(&v, sizeof v); }
  void u64(uint64_t v) { raw(&v, sizeof v); }
  void f64(double v) { raw(&v, sizeof v); }
  void text(std::string_view s);             // u32 length, bytes
  void floats(const float* data, size_t n);  // u64 count, data
  void ints(const int32_t* data, size_t n);  // u64 count, data
  const std::string& bytes() const { return bytes_; }

 private:
  void raw(const void* p, size_t n);
  std::string bytes_;
};

// Reads what PayloadWriter wrote; every read is bounds-checked against the
// payload (ProtocolError naming `what` otherwise).
class PayloadReader {
 public:
  explicit PayloadReader(std::string_view bytes) : bytes_(bytes) {}
  uint32_t u32(const char* what);
  int32_t i32(const char* what);
  uint64_t u64(const char* what);
  double f64(const char* what);
  std::string text(const char* what, size_t max_length);
  std::vector<float> floats(const char* what, uint64_t max_count);
  std::vector<int32_t> ints(const char* what, uint64_t max_count);
  // ProtocolError when bytes are left over.
  void finish(const char* what) const;

 private:
  void raw(void* p, size_t n, const char* what);
  std::string_view bytes_;
  size_t offset_ = 0;
};

// ---- load ---------------------------------------------------------------------------

struct SetListing {
  std::string name;
  std::string description;
};

// loaded: what a library offers.
struct PluginListing {
  uint32_t abi_version = 0;
  std::vector<SetListing> sets;
};

inline constexpr uint32_t kMaxSets = 64;
inline constexpr size_t kMaxSetName = 64;
inline constexpr size_t kMaxDescription = 1024;

// Empty when `name` is a valid set name ([a-zA-Z0-9_.+-], 1 to kMaxSetName
// characters); otherwise what is wrong with it.
std::string check_set_name(std::string_view name);
// Empty when `description` is one line of printable text (UTF-8 allowed) of
// at most kMaxDescription bytes; otherwise what is wrong with it.
std::string check_description(std::string_view description);

std::string encode_listing(const PluginListing& listing);
// ProtocolError unless: 1 to kMaxSets sets, valid unique names, valid
// descriptions, nothing left over.
PluginListing decode_listing(std::string_view payload);

// refused: why a library cannot be used (the CLI's exit 2).
enum class Refusal : uint32_t {
  cannot_open = 1,  // dlopen failed
  no_entry = 2,     // no gpt2_oracle_plugin_entry symbol
  abi_version = 3,  // the table declares another ABI version
  bad_table = 4,    // NULL table, no sets, a missing required op, a bad name
};
struct RefusedReply {
  Refusal reason = Refusal::cannot_open;
  std::string message;  // one line
};
std::string encode_refused(const RefusedReply& refused);
RefusedReply decode_refused(std::string_view payload);

// create_failed: one line of text.
std::string encode_message(std::string_view message);
std::string decode_message(std::string_view payload);

// ---- create -------------------------------------------------------------------------

std::string encode_create(uint32_t set_index, const Weights<float>& weights);
// The child's side: the set index and the weights (config validated, every
// tensor of its shape).
Weights<float> decode_create(std::string_view payload, uint32_t& set_index);

// ---- call ---------------------------------------------------------------------------

// The ops of the Kernels interface (optimized/kernels.h).
enum class Op : uint32_t {
  embed = 0,
  layer_norm = 1,
  project = 2,
  project_gelu = 3,
  gelu = 4,
  write_cache = 5,
  attention = 6,
  logits = 7,
};

struct CallRequest {
  Op op = Op::embed;
  int32_t layer = 0;
  int32_t which = 0;       // layer_norm: NormSite; project: Projection
  int32_t accumulate = 0;  // project: y += x·W + b
  int32_t pos0 = 0, n_tokens = 0, mask = 0, decode = 0;  // the Pass
  int32_t rows = 0;                                      // layer_norm, logits
  std::vector<int32_t> tokens;                           // embed
  std::vector<float> input;                              // x, or qkv for write_cache / attention
  std::vector<float> output;  // y's old value for project with accumulate, x for gelu
};

std::string encode_call(const CallRequest& call);
// The child's side: checks op, sizes against `config` and the pass's range.
CallRequest decode_call(std::string_view payload, const Config& config);

// The number of floats the op returns for `call` on `config`.
uint64_t result_count(const CallRequest& call, const Config& config);

std::string encode_result(const std::vector<float>& output);
// ProtocolError unless the payload holds exactly `expected_count` floats.
std::vector<float> decode_result(std::string_view payload, uint64_t expected_count);

}  // namespace gpt2::plugin

#include "plugin/protocol.h"

#include <algorithm>
#include <cstring>
#include <set>

namespace gpt2::plugin {

const char* message_kind_name(MessageKind kind) {
  switch (kind) {
    case MessageKind::load:
      return "load";
    case MessageKind::create:
      return "create";
    case MessageKind::call:
      return "call";
    case MessageKind::quit:
      return "quit";
    case MessageKind::opened:
      return "opened";
    case MessageKind::loaded:
      return "loaded";
    case MessageKind::refused:
      return "refused";
    case MessageKind::created:
      return "created";
    case MessageKind::create_failed:
      return "create_failed";
    case MessageKind::result:
      return "result";
  }
  return "?";
}

namespace {
bool known_kind(uint32_t k) { return (k >= 1 && k <= 4) || (k >= 101 && k <= 106); }
}  // namespace

std::string encode_frame(MessageKind kind, std::string_view payload) {
  std::string out(kFrameHeaderBytes, '\0');
  const uint32_t magic = kFrameMagic, k = static_cast<uint32_t>(kind);
  const uint64_t size = payload.size();
  std::memcpy(out.data(), &magic, 4);
  std::memcpy(out.data() + 4, &k, 4);
  std::memcpy(out.data() + 8, &size, 8);
  out.append(payload);
  return out;
}

FrameHeader decode_frame_header(const void* bytes, uint64_t max_size) {
  uint32_t magic = 0, kind = 0;
  uint64_t size = 0;
  const char* b = static_cast<const char*>(bytes);
  std::memcpy(&magic, b, 4);
  std::memcpy(&kind, b + 4, 4);
  std::memcpy(&size, b + 8, 8);
  if (magic != kFrameMagic) throw ProtocolError("a message without the protocol's magic number");
  if (!known_kind(kind)) throw ProtocolError("a message of unknown kind " + std::to_string(kind));
  if (size > max_size)
    throw ProtocolError(std::string("a '") + message_kind_name(static_cast<MessageKind>(kind)) +
                        "' message of " + std::to_string(size) + " bytes (at most " +
                        std::to_string(max_size) + " expected)");
  return {static_cast<MessageKind>(kind), size};
}

// ---- payloads -----------------------------------------------------------------------

void PayloadWriter::raw(const void* p, size_t n) { bytes_.append(static_cast<const char*>(p), n); }

void PayloadWriter::text(std::string_view s) {
  u32(static_cast<uint32_t>(s.size()));
  raw(s.data(), s.size());
}

void PayloadWriter::floats(const float* data, size_t n) {
  u64(n);
  raw(data, n * sizeof(float));
}

void PayloadWriter::ints(const int32_t* data, size_t n) {
  u64(n);
  raw(data, n * sizeof(int32_t));
}

void PayloadReader::raw(void* p, size_t n, const char* what) {
  if (n > bytes_.size() - offset_)
    throw ProtocolError(std::string("a message cut short in ") + what);
  if (n == 0) return;  // an empty array: its data() may be null, which memcpy may not take
  std::memcpy(p, bytes_.data() + offset_, n);
  offset_ += n;
}

uint32_t PayloadReader::u32(const char* what) {
  uint32_t v;
  raw(&v, sizeof v, what);
  return v;
}

int32_t PayloadReader::i32(const char* what) {
  int32_t v;
  raw(&v, sizeof v, what);
  return v;
}

uint64_t PayloadReader::u64(const char* what) {
  uint64_t v;
  raw(&v, sizeof v, what);
  return v;
}

double PayloadReader::f64(const char* what) {
  double v;
  raw(&v, sizeof v, what);
  return v;
}

std::string PayloadReader::text(const char* what, size_t max_length) {
  const uint32_t n = u32(what);
  if (n > max_length)
    throw ProtocolError(std::string(what) + " of " + std::to_string(n) + " bytes (at most " +
                        std::to_string(max_length) + ")");
  std::string s(n, '\0');
  raw(s.data(), n, what);
  return s;
}

std::vector<float> PayloadReader::floats(const char* what, uint64_t max_count) {
  const uint64_t n = u64(what);
  if (n > max_count || n > (bytes_.size() - offset_) / sizeof(float))
    throw ProtocolError(std::string(what) + ": " + std::to_string(n) +
                        " floats, more than the message holds or allows");
  std::vector<float> v(n);
  raw(v.data(), n * sizeof(float), what);
  return v;
}

std::vector<int32_t> PayloadReader::ints(const char* what, uint64_t max_count) {
  const uint64_t n = u64(what);
  if (n > max_count || n > (bytes_.size() - offset_) / sizeof(int32_t))
    throw ProtocolError(std::string(what) + ": " + std::to_string(n) +
                        " integers, more than the message holds or allows");
  std::vector<int32_t> v(n);
  raw(v.data(), n * sizeof(int32_t), what);
  return v;
}

void PayloadReader::finish(const char* what) const {
  if (offset_ != bytes_.size())
    throw ProtocolError(std::string(what) + ": " + std::to_string(bytes_.size() - offset_) +
                        " unexpected bytes at the end");
}

// ---- load ---------------------------------------------------------------------------

std::string check_set_name(std::string_view name) {
  if (name.empty()) return "an empty name";
  if (name.size() > kMaxSetName)
    return "a name of " + std::to_string(name.size()) + " characters (at most " +
           std::to_string(kMaxSetName) + ")";
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '+' || c == '-';
    if (!ok) return "a name with a character outside [a-zA-Z0-9_.+-]";
  }
  return "";
}

std::string check_description(std::string_view description) {
  if (description.size() > kMaxDescription)
    return "a description of " + std::to_string(description.size()) + " bytes (at most " +
           std::to_string(kMaxDescription) + ")";
  for (unsigned char c : description)
    if (c < 0x20 || c == 0x7f) return "a description with a control character (one line of text)";
  return "";
}

std::string encode_listing(const PluginListing& listing) {
  PayloadWriter w;
  w.u32(listing.abi_version);
  w.u32(static_cast<uint32_t>(listing.sets.size()));
  for (const auto& s : listing.sets) {
    w.text(s.name);
    w.text(s.description);
  }
  return w.bytes();
}

PluginListing decode_listing(std::string_view payload) {
  PayloadReader r(payload);
  PluginListing out;
  out.abi_version = r.u32("the ABI version");
  const uint32_t n = r.u32("the number of sets");
  if (n < 1 || n > kMaxSets)
    throw ProtocolError("a listing of " + std::to_string(n) + " kernel sets (1 to " +
                        std::to_string(kMaxSets) + ")");
  std::set<std::string> seen;
  for (uint32_t i = 0; i < n; ++i) {
    SetListing s;
    s.name = r.text("a set's name", kMaxSetName);
    s.description = r.text("a set's description", kMaxDescription);
    if (const std::string e = check_set_name(s.name); !e.empty())
      throw ProtocolError("set " + std::to_string(i) + ": " + e);
    if (const std::string e = check_description(s.description); !e.empty())
      throw ProtocolError("set '" + s.name + "': " + e);
    if (!seen.insert(s.name).second) throw ProtocolError("set '" + s.name + "' listed twice");
    out.sets.push_back(std::move(s));
  }
  r.finish("the listing");
  return out;
}

std::string encode_refused(const RefusedReply& refused) {
  PayloadWriter w;
  w.u32(static_cast<uint32_t>(refused.reason));
  w.text(refused.message);
  return w.bytes();
}

RefusedReply decode_refused(std::string_view payload) {
  PayloadReader r(payload);
  RefusedReply out;
  const uint32_t reason = r.u32("the refusal's reason");
  if (reason < 1 || reason > 4)
    throw ProtocolError("a refusal of unknown reason " + std::to_string(reason));
  out.reason = static_cast<Refusal>(reason);
  out.message = r.text("the refusal's message", 4096);
  if (const std::string e = check_description(out.message); !e.empty())
    throw ProtocolError("the refusal's message: " + e);
  r.finish("the refusal");
  return out;
}

std::string encode_message(std::string_view message) {
  PayloadWriter w;
  w.text(message);
  return w.bytes();
}

std::string decode_message(std::string_view payload) {
  PayloadReader r(payload);
  std::string m = r.text("a message", 4096);
  if (const std::string e = check_description(m); !e.empty())
    throw ProtocolError("a message: " + e);
  r.finish("a message");
  return m;
}

// ---- create -------------------------------------------------------------------------

std::string encode_create(uint32_t set_index, const Weights<float>& weights) {
  PayloadWriter w;
  const Config& c = weights.config;
  w.u32(set_index);
  for (int v : {c.n_layer, c.n_head, c.n_embd, c.n_ctx, c.vocab_size}) w.i32(v);
  w.f64(c.layer_norm_epsilon);
  for_each_tensor(weights, [&](const std::string&, const std::vector<float>& t, const Shape&) {
    w.floats(t.data(), t.size());
  });
  return w.bytes();
}

Weights<float> decode_create(std::string_view payload, uint32_t& set_index) {
  PayloadReader r(payload);
  set_index = r.u32("the set index");
  Config c;
  c.n_layer = r.i32("n_layer");
  c.n_head = r.i32("n_head");
  c.n_embd = r.i32("n_embd");
  c.n_ctx = r.i32("n_ctx");
  c.vocab_size = r.i32("vocab_size");
  c.layer_norm_epsilon = r.f64("layer_norm_epsilon");
  c.validate("the create message");
  Weights<float> w;
  w.config = c;
  w.blocks.resize(c.n_layer);
  for_each_tensor(w, [&](const std::string& name, std::vector<float>& t, const Shape& shape) {
    t = r.floats(name.c_str(), static_cast<uint64_t>(element_count(shape)));
    if (t.size() != static_cast<size_t>(element_count(shape)))
      throw ProtocolError("tensor " + name + " of " + std::to_string(t.size()) +
                          " floats, expected " + shape_text(shape));
  });
  r.finish("the create message");
  return w;
}

// ---- call ---------------------------------------------------------------------------

namespace {

// Columns of a projection's output (optimized::projection_out, restated here
// so that this file needs model/ only, for the fuzz build).
int64_t projection_width(const Config& c, int32_t p) {
  switch (p) {
    case 0:
      return 3 * int64_t(c.n_embd);  // qkv
    case 1:
      return c.n_embd;  // attn_proj
    case 2:
      return 4 * int64_t(c.n_embd);  // fc
    case 3:
      return c.n_embd;  // mlp_proj
  }
  return -1;
}

int64_t projection_input(const Config& c, int32_t p) {
  return p == 3 ? 4 * int64_t(c.n_embd) : c.n_embd;
}

}  // namespace

std::string encode_call(const CallRequest& call) {
  PayloadWriter w;
  w.u32(static_cast<uint32_t>(call.op));
  for (int32_t v : {call.layer, call.which, call.accumulate, call.pos0, call.n_tokens, call.mask,
                    call.decode, call.rows})
    w.i32(v);
  w.ints(call.tokens.data(), call.tokens.size());
  w.floats(call.input.data(), call.input.size());
  w.floats(call.output.data(), call.output.size());
  return w.bytes();
}

uint64_t result_count(const CallRequest& call, const Config& c) {
  const int64_t T = call.n_tokens, C = c.n_embd;
  switch (call.op) {
    case Op::embed:
      return T * C;
    case Op::layer_norm:
      return int64_t(call.rows) * C;
    case Op::project:
      return T * projection_width(c, call.which);
    case Op::project_gelu:
      return T * 4 * C;
    case Op::gelu:
      return call.output.size();
    case Op::write_cache:
      return 0;
    case Op::attention:
      return T * C;
    case Op::logits:
      return int64_t(call.rows) * c.vocab_size;
  }
  return 0;
}

CallRequest decode_call(std::string_view payload, const Config& c) {
  PayloadReader r(payload);
  CallRequest call;
  const uint32_t op = r.u32("the op");
  if (op > 7) throw ProtocolError("unknown op " + std::to_string(op));
  call.op = static_cast<Op>(op);
  call.layer = r.i32("layer");
  call.which = r.i32("which");
  call.accumulate = r.i32("accumulate");
  call.pos0 = r.i32("pos0");
  call.n_tokens = r.i32("n_tokens");
  call.mask = r.i32("mask");
  call.decode = r.i32("decode");
  call.rows = r.i32("rows");
  const int64_t P = c.n_ctx, C = c.n_embd;
  const uint64_t limit = uint64_t(P) * std::max<int64_t>(4 * C, c.vocab_size);
  call.tokens = r.ints("tokens", P);
  call.input = r.floats("input", limit);
  call.output = r.floats("output", limit);
  r.finish("the call");
  const int64_t T = call.n_tokens;
  auto require = [&](bool ok, const std::string& what) {
    if (!ok) throw ProtocolError("a call with " + what);
  };
  if (call.op != Op::gelu) {
    require(call.pos0 >= 0 && T >= 1 && call.pos0 + T <= P, "a pass outside the context");
    require(call.mask == 0 || call.mask == 1, "an unknown mask");
  }
  const bool in_block = call.op == Op::project || call.op == Op::project_gelu ||
                        call.op == Op::write_cache || call.op == Op::attention ||
                        (call.op == Op::layer_norm && call.which != 2);
  if (in_block) require(call.layer >= 0 && call.layer < c.n_layer, "a layer outside the model");
  switch (call.op) {
    case Op::embed:
      require(int64_t(call.tokens.size()) == T, "tokens not one per position");
      for (int32_t t : call.tokens)
        require(t >= 0 && t < c.vocab_size, "a token outside the vocabulary");
      break;
    case Op::layer_norm:
      require(call.which >= 0 && call.which <= 2, "an unknown LayerNorm site");
      require(call.rows >= 1 && call.rows <= T, "rows outside the pass");
      require(int64_t(call.input.size()) == call.rows * C, "a LayerNorm input of the wrong size");
      break;
    case Op::project:
      require(projection_width(c, call.which) > 0, "an unknown projection");
      require(int64_t(call.input.size()) == T * projection_input(c, call.which),
              "a projection input of the wrong size");
      require(int64_t(call.output.size()) ==
                  (call.accumulate ? T * projection_width(c, call.which) : 0),
              "an accumulated output of the wrong size");
      break;
    case Op::project_gelu:
      require(int64_t(call.input.size()) == T * C, "an fc input of the wrong size");
      break;
    case Op::gelu:
      break;
    case Op::write_cache:
    case Op::attention:
      require(int64_t(call.input.size()) == T * 3 * C, "a qkv of the wrong size");
      break;
    case Op::logits:
      require(call.rows >= 1 && call.rows <= T, "rows outside the pass");
      require(int64_t(call.input.size()) == call.rows * C, "a logits input of the wrong size");
      break;
  }
  return call;
}

std::string encode_result(const std::vector<float>& output) {
  PayloadWriter w;
  w.floats(output.data(), output.size());
  return w.bytes();
}

std::vector<float> decode_result(std::string_view payload, uint64_t expected_count) {
  PayloadReader r(payload);
  std::vector<float> out = r.floats("the result", expected_count);
  if (out.size() != expected_count)
    throw ProtocolError("a result of " + std::to_string(out.size()) + " floats, expected " +
                        std::to_string(expected_count));
  r.finish("the result");
  return out;
}

}  // namespace gpt2::plugin

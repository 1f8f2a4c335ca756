// libFuzzer target: what gpt2-oracle reads from a plugin's child process
// (plugin/protocol.h). A plugin runs in that child and can write anything to
// the socket, so each input is read as the parent reads the child's stream:
// frames (header, then payload) one after the other, each payload decoded
// as the answer of its kind (a listing, a refusal, a message, a result of a
// given size). Every frame gives a value or a ProtocolError; nothing else: no
// crash, no other exception, no sanitizer report, no allocation beyond what
// the input holds.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "plugin/protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gpt2::plugin;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // The result's expected size, as the parent knows it from its request.
  const uint64_t expected = size > 0 ? data[0] : 0;
  while (input.size() >= kFrameHeaderBytes) {
    try {
      const FrameHeader h = decode_frame_header(input.data(), 1 << 20);
      input.remove_prefix(kFrameHeaderBytes);
      if (h.size > input.size()) return 0;  // the parent waits for the rest
      const std::string_view payload = input.substr(0, h.size);
      input.remove_prefix(h.size);
      switch (h.kind) {
        case MessageKind::loaded:
          (void)decode_listing(payload);
          break;
        case MessageKind::refused:
          (void)decode_refused(payload);
          break;
        case MessageKind::create_failed:
          (void)decode_message(payload);
          break;
        case MessageKind::result:
          (void)decode_result(payload, expected);
          break;
        default:
          break;  // opened, created: no payload to read; requests: refused by kind
      }
    } catch (const ProtocolError&) {
      return 0;  // the parent kills the child and reports the breach
    }
  }
  return 0;
}

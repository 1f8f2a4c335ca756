#include "optimized/gelu_table.h"

#include "model/float_formats.h"
#include "model/profile.h"
#include "optimized/gelu.h"

namespace gpt2::optimized {

const std::array<uint16_t, 65536>& gelu_f16_table() {
  static const std::array<uint16_t, 65536> kTable = [] {
    std::array<uint16_t, 65536> table{};
    for (uint32_t h = 0; h < table.size(); ++h)
      table[h] = f32_to_f16(gelu_tanh_f32(f16_to_f32(static_cast<uint16_t>(h))));
    return table;
  }();
  return kTable;
}

float gelu_f16_table_lookup(float x) { return f16_to_f32(gelu_f16_table()[f32_to_f16(x)]); }

float gelu_f16_table_clamped(float x) {
  if (x <= kGeluTableLow) return 0.0f;
  if (x >= kGeluTableHigh) return x;
  return gelu_f16_table_lookup(x);
}

void gelu_f16_table_array(float* x, size_t n) {
  const std::array<uint16_t, 65536>& table = gelu_f16_table();
  for (size_t i = 0; i < n; ++i) {
    const float v = x[i];
    x[i] = v <= kGeluTableLow ? 0.0f : v >= kGeluTableHigh ? v : f16_to_f32(table[f32_to_f16(v)]);
  }
}

}  // namespace gpt2::optimized

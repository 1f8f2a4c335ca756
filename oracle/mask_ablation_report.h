// The mask ablation's reports (oracle/mask_ablation.h computes the numbers):
// the table with the sentences read off it, the JSON, the SVG heatmap.
#pragma once

#include <string>

#include "oracle/mask_ablation.h"

namespace gpt2::oracle {

// The whole report for people: the table, then sentences read off the
// numbers, then the decode part. Deterministic: the README quotes it.
std::string format_mask_ablation(const MaskAblation& ablation);

// {"model", "tokens", ["token_text": [T strings], when known,] "precision",
// "measure", "rows": [{"tensor",
// "relative_difference": [T numbers]}], "last_position": {...},
// "decode": {...}}. Strict JSON (non-finite numbers as null).
std::string mask_ablation_json(const MaskAblation& ablation);

// The table as a heatmap (oracle/heatmap_svg.h): one cell per tensor ×
// position, log-scale colours, exact zeros hatched.
std::string mask_ablation_svg(const MaskAblation& ablation);

}  // namespace gpt2::oracle

// Padding-mask ablation: what the padding mask of a batch (model/batch.h)
// does, per tensor and position, as mask_ablation.h shows it for the causal
// mask (`gpt2-oracle mask-ablation --padding left|right`).
//
// The tokens run as one row of a padded batch, with `padding_columns` padding
// columns on one side (the row batched with one that many tokens longer).
// The reference runs the batch at the chosen precision with and without the
// padding mask (the position ids count real tokens either way), and the
// row's real positions are compared tensor by tensor. The decode part runs
// the batch on the engine: prefilled with and without the padding mask, then
// the masked run's greedy continuation decoded on each, and every decode
// step run once more without the padding mask on the masked run's cache, to
// show whether a single decode step needs the mask.
#pragma once

#include <string>
#include <vector>

#include "model/batch.h"
#include "model/weights.h"
#include "oracle/mask_ablation.h"
#include "reference/reference.h"

namespace gpt2::oracle {

inline constexpr const char* kPaddingDifferenceFormula =
    "||masked - unmasked|| / max(||masked||, ||unmasked||)";

struct PaddingAblation {
  std::string model;
  std::vector<int> tokens;  // the row's real tokens
  std::vector<std::string>
      token_texts;  // labels, when the model has a tokenizer (set by the caller)
  Padding padding = Padding::left;
  int padding_columns = 0;
  reference::Precision precision = reference::Precision::digits50;
  // Forward order; one number per real position: with vs without the padding mask.
  std::vector<MaskAblationRow> rows;
  // Per position: argmax_causal / argmax_none hold the argmax with / without
  // the padding mask.
  std::vector<NextTokenChange> next_tokens;
  // The decode part: steps[k].relative_difference compares the masked and
  // the unmasked run; one_query_pass_identical says whether step k run
  // without the padding mask on the masked run's cache gives the masked
  // step's bits, and one_query_difference how far apart they are.
  DecodeAblation decode;
  std::vector<double> one_query_difference;  // [steps], step 1 first
};

struct PaddingAblationOptions {
  reference::Precision precision = reference::Precision::digits50;
  int threads = 1;
  bool progress = false;
  std::string kernel = "fast";
  int decode_steps = 4;  // fewer when the context has less room
};

// Throws InputError for bad tokens, padding_columns < 1, a padded row (T +
// padding_columns) longer than the context, or an unknown kernel, before any
// long computation.
PaddingAblation run_padding_ablation(const Weights<float>& weights, const std::vector<int>& tokens,
                                     Padding padding, int padding_columns, const std::string& model,
                                     const PaddingAblationOptions& options);

// The report for people: the table, sentences read off it, the decode part.
std::string format_padding_ablation(const PaddingAblation& ablation);
// Every number as strict JSON.
std::string padding_ablation_json(const PaddingAblation& ablation);
// The table as a heatmap (oracle/heatmap_svg.h).
std::string padding_ablation_svg(const PaddingAblation& ablation);

}  // namespace gpt2::oracle

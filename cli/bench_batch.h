// gpt2-oracle bench --batch B,...: batched decode throughput, tokens/s over
// all rows, for each batch size: B rows of a random prompt each
// (prefill_batch), then greedy decode_batch steps, best of interleaved rounds.
//
//   gpt2-oracle bench --model gpt2-124m-shape --kernel fast --batch 1,4,16 --json batch.json
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/verbs.h"

namespace gpt2::cli {

struct BatchBenchOptions {
  ModelSource source;
  std::string kernel;
  int threads = 1;
  int prompt = 128;         // tokens per row
  int steps = 128;          // decode steps per row
  std::string batch_sizes;  // "1,4,16"
  std::string json;
};

// "1,4,16" -> {1, 4, 16}: sizes 1 .. kMaxBatchRows, repeats dropped;
// InputError naming --batch otherwise.
std::vector<int> parse_batch_sizes(const std::string& text);

int run_batch_bench(const BatchBenchOptions& options);

}  // namespace gpt2::cli

// Batches: B token sequences of their own lengths, run together as one
// padded rectangle (README.md, "Batches"). The one home of the padding rule; the
// reference (reference/forward_impl.h) and the engine (optimized/engine.h)
// both lay a batch out with BatchLayout.
//
// A batch of rows r = 0 .. B-1 of n_r tokens each is the rectangle [B, W],
// W = max_r n_r, as Hugging Face's tokenizer pads it and `generate` runs it:
//
//   padding side   Padding::left: row r's tokens are its last n_r columns
//                  (every row's next token then goes in the same column);
//                  Padding::right: its first n_r columns.
//   attention mask 1 for a real token, 0 for a padding column: a padding
//                  column's key is never visible to any query (and a padding
//                  query sees no key at all: its value is part of no result).
//   position ids   a real token's: the count of real tokens before it in its
//                  row (Hugging Face: cumsum(mask) - 1); a padding column's:
//                  1 (Hugging Face: masked_fill(mask == 0, 1)), or 0 when the
//                  context has a single position.
//   padding token  kPaddingToken in every padding column.
//
// With the mask and these position ids, a row's real tokens compute exactly
// what the row computes alone: every sum over keys gains only terms that are
// exactly zero (reference/batch_test.cpp proves it at 50 digits).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/config.h"

namespace gpt2 {

enum class Padding { left, right };

const char* padding_name(Padding padding);  // "left", "right"
// "left" or "right"; InputError naming `option` otherwise.
Padding parse_padding(const std::string& text, const std::string& option = "--padding");

// The token in a padding column: any id works (the mask hides it); 0 exists
// in every vocabulary.
inline constexpr int kPaddingToken = 0;

// The position id of a padding column in a model of `n_ctx` positions.
inline int padding_position_id(int n_ctx) { return n_ctx > 1 ? 1 : 0; }

// The most rows a batch may have (a batch file or the engine): each row has
// its own key/value cache.
inline constexpr int kMaxBatchRows = 1024;

// The rectangle of a batch: which columns of each row are real, and their
// position ids.
class BatchLayout {
 public:
  BatchLayout() = default;
  // lengths: n_r >= 1 for each of B >= 1 rows (InternalError otherwise:
  // callers validate input first).
  BatchLayout(std::vector<int> lengths, Padding padding);

  int rows() const { return static_cast<int>(lengths_.size()); }  // B
  int width() const { return width_; }                            // W
  Padding padding() const { return padding_; }
  int length(int row) const { return lengths_[row]; }  // n_r
  // The first real column of `row`: W - n_r (left padding) or 0 (right).
  int first_column(int row) const;
  // The attention mask: whether column `column` of `row` holds a real token.
  bool is_real(int row, int column) const;
  // The position id of a column: for a real token, the count of real tokens
  // before it; padding_position_id(n_ctx) for a padding column.
  int position_id(int row, int column, int n_ctx) const;
  // [B, W] token ids: each row's tokens in its real columns, kPaddingToken
  // elsewhere. `tokens` must have rows() rows of the layout's lengths.
  std::vector<int> padded(const std::vector<std::vector<int>>& tokens) const;

 private:
  std::vector<int> lengths_;
  int width_ = 0;
  Padding padding_ = Padding::left;
};

// The lengths of `rows`, for BatchLayout.
std::vector<int> row_lengths(const std::vector<std::vector<int>>& rows);

// Checks a batch against the config: 1 .. kMaxBatchRows rows, each a valid
// token list (validate_tokens: non-empty, ids in [0, V), at most n_ctx).
// Throws InputError naming `source` and the row ("source, row 2: token 0 is
// 70, out of range for vocab_size 64").
void validate_batch(const std::vector<std::vector<int>>& rows, const Config& config,
                    const std::string& source = "batch");

// The largest batch file read: 64 MiB (1024 rows of GPT-2's whole context
// take about 7 MB).
inline constexpr uint64_t kMaxBatchFileBytes = uint64_t(64) << 20;

// A batch file: one token list per line, in the syntax of --tokens
// ("5,17,3"; spaces around commas allowed), lines ending in "\n" or "\r\n",
// the last line's end optional. Throws InputError naming `source` and the
// line (1-based) for an empty line, a malformed list, an id outside
// [0, vocab_size), a row longer than the context, no rows at all or more
// than kMaxBatchRows rows.
std::vector<std::vector<int>> parse_batch_file(const std::string& text, const Config& config,
                                               const std::string& source);

// The inverse of parse_batch_file: one "5,17,3" line per row, each ended by "\n".
std::string format_batch_file(const std::vector<std::vector<int>>& rows);

}  // namespace gpt2

#include "model/batch.h"

#include <algorithm>

#include "model/error.h"
#include "model/tokens.h"

namespace gpt2 {

const char* padding_name(Padding padding) { return padding == Padding::left ? "left" : "right"; }

Padding parse_padding(const std::string& text, const std::string& option) {
  if (text == "left") return Padding::left;
  if (text == "right") return Padding::right;
  throw InputError(option + ": expected left or right, found '" + text + "'");
}

BatchLayout::BatchLayout(std::vector<int> lengths, Padding padding)
    : lengths_(std::move(lengths)), padding_(padding) {
  GPT2_CHECK(!lengths_.empty(), "a batch has at least one row");
  for (int n : lengths_) {
    GPT2_CHECK(n >= 1, "every row of a batch has at least one token");
    width_ = std::max(width_, n);
  }
}

int BatchLayout::first_column(int row) const {
  return padding_ == Padding::left ? width_ - lengths_[row] : 0;
}

bool BatchLayout::is_real(int row, int column) const {
  const int first = first_column(row);
  return column >= first && column < first + lengths_[row];
}

int BatchLayout::position_id(int row, int column, int n_ctx) const {
  return is_real(row, column) ? column - first_column(row) : padding_position_id(n_ctx);
}

std::vector<int> BatchLayout::padded(const std::vector<std::vector<int>>& tokens) const {
  GPT2_CHECK(static_cast<int>(tokens.size()) == rows(), "one token list per row");
  std::vector<int> out(static_cast<size_t>(rows()) * width_, kPaddingToken);
  for (int r = 0; r < rows(); ++r) {
    GPT2_CHECK(static_cast<int>(tokens[r].size()) == lengths_[r], "row length as in the layout");
    std::copy(tokens[r].begin(), tokens[r].end(),
              out.begin() + static_cast<size_t>(r) * width_ + first_column(r));
  }
  return out;
}

std::vector<int> row_lengths(const std::vector<std::vector<int>>& rows) {
  std::vector<int> lengths;
  lengths.reserve(rows.size());
  for (const auto& row : rows) lengths.push_back(static_cast<int>(row.size()));
  return lengths;
}

void validate_batch(const std::vector<std::vector<int>>& rows, const Config& config,
                    const std::string& source) {
  if (rows.empty()) throw InputError(source + ": no rows (a batch needs at least one sequence)");
  if (rows.size() > static_cast<size_t>(kMaxBatchRows))
    throw InputError(source + ": " + std::to_string(rows.size()) + " rows exceed the limit of " +
                     std::to_string(kMaxBatchRows));
  for (size_t r = 0; r < rows.size(); ++r)
    validate_tokens(rows[r], config, source + ", row " + std::to_string(r));
}

std::vector<std::vector<int>> parse_batch_file(const std::string& text, const Config& config,
                                               const std::string& source) {
  std::vector<std::vector<int>> rows;
  size_t start = 0;
  int line = 0;
  while (start < text.size()) {
    ++line;
    size_t end = text.find('\n', start);
    const size_t next = end == std::string::npos ? text.size() : end + 1;
    if (end == std::string::npos) end = text.size();
    if (end > start && text[end - 1] == '\r') --end;  // "\r\n"
    const std::string where = source + ", line " + std::to_string(line);
    if (rows.size() == static_cast<size_t>(kMaxBatchRows))
      throw InputError(where + ": more than " + std::to_string(kMaxBatchRows) +
                       " rows (the most a batch may have)");
    const std::string row = text.substr(start, end - start);
    if (row.find_first_not_of(" \t") == std::string::npos)
      throw InputError(where + ": empty line (each line is one row: a token list such as 5,17,3)");
    rows.push_back(parse_tokens(row, config, where));
    start = next;
  }
  if (rows.empty()) throw InputError(source + ": no rows (one token list per line)");
  return rows;
}

std::string format_batch_file(const std::vector<std::vector<int>>& rows) {
  std::string out;
  for (const auto& row : rows) out += format_tokens(row) + "\n";
  return out;
}

}  // namespace gpt2

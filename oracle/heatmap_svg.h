// A self-contained SVG heatmap of non-negative numbers: log-scale colours
// (viridis), labelled axes, a colour bar, and exact zeros drawn hatched so
// that they never look like a small number. Hand-written text, no library.
#pragma once

#include <string>
#include <vector>

namespace gpt2::oracle {

struct Heatmap {
  std::string title;
  std::string subtitle;                     // one line under the title (may be empty)
  std::string x_label;                      // under the columns, e.g. "position"
  std::string y_label;                      // beside the rows, e.g. "tensor"
  std::string value_label;                  // beside the colour bar
  std::vector<std::string> row_labels;      // [R], top to bottom
  std::vector<std::string> column_labels;   // [K], left to right
  std::vector<std::vector<double>> values;  // [R][K], >= 0; 0 drawn as an exact zero
};

// Every cell is one <rect class="cell"> with data-row, data-column and
// data-value attributes and a <title> tooltip. Non-finite or negative values
// are an InternalError (the caller's numbers are differences, >= 0).
std::string heatmap_svg(const Heatmap& heatmap);

}  // namespace gpt2::oracle

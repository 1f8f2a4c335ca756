#include "oracle/heatmap_svg.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include "model/error.h"
#include "oracle/report_text.h"

namespace gpt2::oracle {

using report_text::xml_escape;

namespace {

// Viridis at ten evenly spaced points (matplotlib's values); colours between
// them are interpolated linearly, in the cells and in the colour bar alike.
constexpr std::array<std::array<int, 3>, 10> kViridis = {{{0x44, 0x01, 0x54},
                                                          {0x48, 0x28, 0x78},
                                                          {0x3e, 0x49, 0x89},
                                                          {0x31, 0x68, 0x8e},
                                                          {0x26, 0x82, 0x8e},
                                                          {0x1f, 0x9e, 0x89},
                                                          {0x35, 0xb7, 0x79},
                                                          {0x6e, 0xce, 0x58},
                                                          {0xb5, 0xde, 0x2b},
                                                          {0xfd, 0xe7, 0x25}}};

std::string hex_colour(const std::array<int, 3>& rgb) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
  return buf;
}

// u in [0, 1] -> a viridis colour.
std::string viridis(double u) {
  u = std::clamp(u, 0.0, 1.0) * (kViridis.size() - 1);
  const size_t i = std::min(static_cast<size_t>(u), kViridis.size() - 2);
  const double f = u - static_cast<double>(i);
  std::array<int, 3> rgb;
  for (int c = 0; c < 3; ++c)
    rgb[c] =
        static_cast<int>(std::lround(kViridis[i][c] + f * (kViridis[i + 1][c] - kViridis[i][c])));
  return hex_colour(rgb);
}

std::string fixed(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", x);
  return buf;
}

std::string scientific(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3e", x);
  return buf;
}

// An approximate text width for the layout (12px sans-serif).
double text_width(const std::string& s) { return 7.0 * static_cast<double>(s.size()); }

}  // namespace

std::string heatmap_svg(const Heatmap& h) {
  const int R = static_cast<int>(h.row_labels.size());
  const int K = static_cast<int>(h.column_labels.size());
  GPT2_CHECK(static_cast<int>(h.values.size()) == R, "one row of values per row label");
  double lo = 0, hi = 0;  // smallest and largest non-zero value
  for (const auto& row : h.values) {
    GPT2_CHECK(static_cast<int>(row.size()) == K, "one value per column label");
    for (double v : row) {
      GPT2_CHECK(std::isfinite(v) && v >= 0, "heatmap values are finite and >= 0");
      if (v == 0) continue;
      lo = lo == 0 ? v : std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  // The colour scale spans whole decades around the non-zero values.
  int decade_lo = lo > 0 ? static_cast<int>(std::floor(std::log10(lo))) : -1;
  int decade_hi = hi > 0 ? static_cast<int>(std::ceil(std::log10(hi))) : 0;
  if (decade_hi <= decade_lo) decade_hi = decade_lo + 1;
  auto scale = [&](double v) {
    return (std::log10(v) - decade_lo) / static_cast<double>(decade_hi - decade_lo);
  };

  // Layout (pixels).
  const double cell_w = std::clamp(std::floor(560.0 / std::max(K, 1)), 8.0, 48.0);
  const double cell_h = 24;
  double label_w = 0;
  for (const std::string& l : h.row_labels) label_w = std::max(label_w, text_width(l));
  const double x0 = 40 + label_w + 8;  // y-axis title, row labels, gap
  const double y0 = 56;                // title and subtitle
  const double grid_w = cell_w * K, grid_h = cell_h * R;
  const double bar_x = x0 + grid_w + 32, bar_w = 16;
  const double bar_h = std::max(grid_h, 220.0);
  const double width = std::max(
      {bar_x + bar_w + 64 + 28, text_width(h.subtitle) + 24, text_width(h.title) * 1.2 + 24});
  const double height = y0 + std::max(grid_h + 56, bar_h + 64);
  // Column labels every `stride` columns, so that they do not overlap.
  double column_label_w = 0;
  for (const std::string& l : h.column_labels)
    column_label_w = std::max(column_label_w, text_width(l));
  const int stride = std::max(1, static_cast<int>(std::ceil((column_label_w + 6) / cell_w)));

  std::string s;
  s += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + fixed(width) + "\" height=\"" +
       fixed(height) + "\" viewBox=\"0 0 " + fixed(width) + " " + fixed(height) +
       "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  s += "<title>" + xml_escape(h.title) + "</title>\n";
  s += "<defs>\n";
  s += "<pattern id=\"exact-zero\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" "
       "patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#ffffff\"/>"
       "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#9a9a9a\" stroke-width=\"2\"/>"
       "</pattern>\n";
  s += "<linearGradient id=\"colour-bar\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">";
  for (size_t i = 0; i < kViridis.size(); ++i)
    s += "<stop offset=\"" + fixed(100.0 * i / (kViridis.size() - 1)) + "%\" stop-color=\"" +
         hex_colour(kViridis[i]) + "\"/>";
  s += "</linearGradient>\n";
  s += "</defs>\n";
  s += "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";
  s += "<text x=\"" + fixed(width / 2) + "\" y=\"24\" text-anchor=\"middle\" font-size=\"14\">" +
       xml_escape(h.title) + "</text>\n";
  if (!h.subtitle.empty())
    s += "<text x=\"" + fixed(width / 2) + "\" y=\"40\" text-anchor=\"middle\" fill=\"#444444\">" +
         xml_escape(h.subtitle) + "</text>\n";

  // Cells.
  s += "<g class=\"cells\" stroke=\"#ffffff\" stroke-width=\"1\">\n";
  for (int r = 0; r < R; ++r) {
    for (int k = 0; k < K; ++k) {
      const double v = h.values[r][k];
      const double x = x0 + k * cell_w, y = y0 + r * cell_h;
      const std::string where = h.row_labels[r] + ", " + h.x_label + " " + h.column_labels[k];
      s += "<rect class=\"cell\" data-row=\"" + xml_escape(h.row_labels[r]) + "\" data-column=\"" +
           xml_escape(h.column_labels[k]) + "\" data-value=\"" +
           (v == 0 ? std::string("0") : scientific(v)) + "\" x=\"" + fixed(x) + "\" y=\"" +
           fixed(y) + "\" width=\"" + fixed(cell_w) + "\" height=\"" + fixed(cell_h) +
           "\" fill=\"" + (v == 0 ? std::string("url(#exact-zero)") : viridis(scale(v))) +
           "\"><title>" + xml_escape(where) + ": " +
           (v == 0 ? std::string("exactly 0 (bit-identical)") : scientific(v)) +
           "</title></rect>\n";
      if (v == 0 && cell_w >= 20)
        s += "<text x=\"" + fixed(x + cell_w / 2) + "\" y=\"" + fixed(y + cell_h / 2 + 4) +
             "\" text-anchor=\"middle\" stroke=\"none\" fill=\"#333333\">0</text>\n";
    }
  }
  s += "</g>\n";
  s += "<rect x=\"" + fixed(x0) + "\" y=\"" + fixed(y0) + "\" width=\"" + fixed(grid_w) +
       "\" height=\"" + fixed(grid_h) + "\" fill=\"none\" stroke=\"#333333\"/>\n";

  // Axes: row labels, column labels, axis titles.
  for (int r = 0; r < R; ++r)
    s += "<text x=\"" + fixed(x0 - 6) + "\" y=\"" + fixed(y0 + r * cell_h + cell_h / 2 + 4) +
         "\" text-anchor=\"end\">" + xml_escape(h.row_labels[r]) + "</text>\n";
  for (int k = 0; k < K; k += stride)
    s += "<text x=\"" + fixed(x0 + k * cell_w + cell_w / 2) + "\" y=\"" + fixed(y0 + grid_h + 16) +
         "\" text-anchor=\"middle\">" + xml_escape(h.column_labels[k]) + "</text>\n";
  s += "<text x=\"" + fixed(x0 + grid_w / 2) + "\" y=\"" + fixed(y0 + grid_h + 38) +
       "\" text-anchor=\"middle\" font-weight=\"bold\">" + xml_escape(h.x_label) + "</text>\n";
  s += "<text transform=\"translate(16," + fixed(y0 + grid_h / 2) +
       ") rotate(-90)\" text-anchor=\"middle\" font-weight=\"bold\">" + xml_escape(h.y_label) +
       "</text>\n";

  // Colour bar: decades from bottom to top, then the exact-zero swatch.
  s += "<g class=\"colour-bar\">\n";
  s += "<rect x=\"" + fixed(bar_x) + "\" y=\"" + fixed(y0) + "\" width=\"" + fixed(bar_w) +
       "\" height=\"" + fixed(bar_h) + "\" fill=\"url(#colour-bar)\" stroke=\"#333333\"/>\n";
  const int decades = decade_hi - decade_lo;
  const int tick_stride = std::max(1, static_cast<int>(std::ceil(decades * 16.0 / bar_h)));
  for (int d = decade_lo; d <= decade_hi; d += tick_stride) {
    const double y = y0 + bar_h - bar_h * (d - decade_lo) / decades;
    s += "<line x1=\"" + fixed(bar_x + bar_w) + "\" y1=\"" + fixed(y) + "\" x2=\"" +
         fixed(bar_x + bar_w + 4) + "\" y2=\"" + fixed(y) + "\" stroke=\"#333333\"/>\n";
    s += "<text x=\"" + fixed(bar_x + bar_w + 7) + "\" y=\"" + fixed(y + 4) + "\">1e" +
         std::to_string(d) + "</text>\n";
  }
  const double swatch_y = y0 + bar_h + 14;
  s += "<rect x=\"" + fixed(bar_x) + "\" y=\"" + fixed(swatch_y) + "\" width=\"" + fixed(bar_w) +
       "\" height=\"" + fixed(bar_w) + "\" fill=\"url(#exact-zero)\" stroke=\"#333333\"/>\n";
  s += "<text x=\"" + fixed(bar_x + bar_w + 7) + "\" y=\"" + fixed(swatch_y + 12) +
       "\">exactly 0</text>\n";
  s += "<text transform=\"translate(" + fixed(bar_x + bar_w + 72) + "," + fixed(y0 + bar_h / 2) +
       ") rotate(90)\" text-anchor=\"middle\">" + xml_escape(h.value_label) +
       " (log scale)</text>\n";
  s += "</g>\n";
  s += "</svg>\n";
  return s;
}

}  // namespace gpt2::oracle

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

namespace {

// The colour scale: whole decades 10^lo .. 10^hi around the non-zero values.
struct DecadeScale {
  int lo = -1, hi = 0;
  // v > 0 -> [0, 1] on the log scale
  double operator()(double v) const { return (std::log10(v) - lo) / static_cast<double>(hi - lo); }
};

DecadeScale decade_scale(const Heatmap& h, int R, int K) {
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
  DecadeScale scale;
  scale.lo = lo > 0 ? static_cast<int>(std::floor(std::log10(lo))) : -1;
  scale.hi = hi > 0 ? static_cast<int>(std::ceil(std::log10(hi))) : 0;
  if (scale.hi <= scale.lo) scale.hi = scale.lo + 1;
  return scale;
}

// Where everything goes (pixels).
struct Layout {
  double cell_w = 0, cell_h = 24;
  double x0 = 0,
         y0 = 56;  // the grid's top left: after the y-axis title and row labels; below the titles
  double grid_w = 0, grid_h = 0;
  double bar_x = 0, bar_w = 16, bar_h = 0;  // the colour bar
  double width = 0, height = 0;
  int stride = 1;  // a column label every `stride` columns, so that they do not overlap
};

Layout layout_of(const Heatmap& h, int R, int K) {
  Layout l;
  l.cell_w = std::clamp(std::floor(560.0 / std::max(K, 1)), 8.0, 48.0);
  double label_w = 0;
  for (const std::string& label : h.row_labels) label_w = std::max(label_w, text_width(label));
  l.x0 = 40 + label_w + 8;  // y-axis title, row labels, gap
  l.grid_w = l.cell_w * K;
  l.grid_h = l.cell_h * R;
  l.bar_x = l.x0 + l.grid_w + 32;
  l.bar_h = std::max(l.grid_h, 220.0);
  l.width = std::max(
      {l.bar_x + l.bar_w + 64 + 28, text_width(h.subtitle) + 24, text_width(h.title) * 1.2 + 24});
  l.height = l.y0 + std::max(l.grid_h + 56, l.bar_h + 64);
  double column_label_w = 0;
  for (const std::string& label : h.column_labels)
    column_label_w = std::max(column_label_w, text_width(label));
  l.stride = std::max(1, static_cast<int>(std::ceil((column_label_w + 6) / l.cell_w)));
  return l;
}

// The XML prologue, the <svg> element, the hatch and gradient definitions,
// the background and the titles.
std::string svg_head(const Heatmap& h, const Layout& l) {
  std::string s;
  s += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + fixed(l.width) + "\" height=\"" +
       fixed(l.height) + "\" viewBox=\"0 0 " + fixed(l.width) + " " + fixed(l.height) +
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
  s += "<text x=\"" + fixed(l.width / 2) + "\" y=\"24\" text-anchor=\"middle\" font-size=\"14\">" +
       xml_escape(h.title) + "</text>\n";
  if (!h.subtitle.empty())
    s += "<text x=\"" + fixed(l.width / 2) +
         "\" y=\"40\" text-anchor=\"middle\" fill=\"#444444\">" + xml_escape(h.subtitle) +
         "</text>\n";
  return s;
}

// One <rect class="cell"> per value (exact zeros hatched and, where there is
// room, marked "0"), then the grid's frame.
std::string svg_cells(const Heatmap& h, const Layout& l, const DecadeScale& scale, int R, int K) {
  std::string s;
  s += "<g class=\"cells\" stroke=\"#ffffff\" stroke-width=\"1\">\n";
  for (int r = 0; r < R; ++r) {
    for (int k = 0; k < K; ++k) {
      const double v = h.values[r][k];
      const double x = l.x0 + k * l.cell_w, y = l.y0 + r * l.cell_h;
      const std::string where = h.row_labels[r] + ", " + h.x_label + " " + h.column_labels[k];
      s += "<rect class=\"cell\" data-row=\"" + xml_escape(h.row_labels[r]) + "\" data-column=\"" +
           xml_escape(h.column_labels[k]) + "\" data-value=\"" +
           (v == 0 ? std::string("0") : scientific(v)) + "\" x=\"" + fixed(x) + "\" y=\"" +
           fixed(y) + "\" width=\"" + fixed(l.cell_w) + "\" height=\"" + fixed(l.cell_h) +
           "\" fill=\"" + (v == 0 ? std::string("url(#exact-zero)") : viridis(scale(v))) +
           "\"><title>" + xml_escape(where) + ": " +
           (v == 0 ? std::string("exactly 0 (bit-identical)") : scientific(v)) +
           "</title></rect>\n";
      if (v == 0 && l.cell_w >= 20)
        s += "<text x=\"" + fixed(x + l.cell_w / 2) + "\" y=\"" + fixed(y + l.cell_h / 2 + 4) +
             "\" text-anchor=\"middle\" stroke=\"none\" fill=\"#333333\">0</text>\n";
    }
  }
  s += "</g>\n";
  s += "<rect x=\"" + fixed(l.x0) + "\" y=\"" + fixed(l.y0) + "\" width=\"" + fixed(l.grid_w) +
       "\" height=\"" + fixed(l.grid_h) + "\" fill=\"none\" stroke=\"#333333\"/>\n";
  return s;
}

// Row labels, column labels (every l.stride-th), axis titles.
std::string svg_axes(const Heatmap& h, const Layout& l, int R, int K) {
  std::string s;
  for (int r = 0; r < R; ++r)
    s += "<text x=\"" + fixed(l.x0 - 6) + "\" y=\"" +
         fixed(l.y0 + r * l.cell_h + l.cell_h / 2 + 4) + "\" text-anchor=\"end\">" +
         xml_escape(h.row_labels[r]) + "</text>\n";
  for (int k = 0; k < K; k += l.stride)
    s += "<text x=\"" + fixed(l.x0 + k * l.cell_w + l.cell_w / 2) + "\" y=\"" +
         fixed(l.y0 + l.grid_h + 16) + "\" text-anchor=\"middle\">" +
         xml_escape(h.column_labels[k]) + "</text>\n";
  s += "<text x=\"" + fixed(l.x0 + l.grid_w / 2) + "\" y=\"" + fixed(l.y0 + l.grid_h + 38) +
       "\" text-anchor=\"middle\" font-weight=\"bold\">" + xml_escape(h.x_label) + "</text>\n";
  s += "<text transform=\"translate(16," + fixed(l.y0 + l.grid_h / 2) +
       ") rotate(-90)\" text-anchor=\"middle\" font-weight=\"bold\">" + xml_escape(h.y_label) +
       "</text>\n";
  return s;
}

// The colour bar: decades from bottom to top, then the exact-zero swatch.
std::string svg_colour_bar(const Heatmap& h, const Layout& l, const DecadeScale& scale) {
  std::string s;
  s += "<g class=\"colour-bar\">\n";
  s += "<rect x=\"" + fixed(l.bar_x) + "\" y=\"" + fixed(l.y0) + "\" width=\"" + fixed(l.bar_w) +
       "\" height=\"" + fixed(l.bar_h) + "\" fill=\"url(#colour-bar)\" stroke=\"#333333\"/>\n";
  const int decades = scale.hi - scale.lo;
  const int tick_stride = std::max(1, static_cast<int>(std::ceil(decades * 16.0 / l.bar_h)));
  for (int d = scale.lo; d <= scale.hi; d += tick_stride) {
    const double y = l.y0 + l.bar_h - l.bar_h * (d - scale.lo) / decades;
    s += "<line x1=\"" + fixed(l.bar_x + l.bar_w) + "\" y1=\"" + fixed(y) + "\" x2=\"" +
         fixed(l.bar_x + l.bar_w + 4) + "\" y2=\"" + fixed(y) + "\" stroke=\"#333333\"/>\n";
    s += "<text x=\"" + fixed(l.bar_x + l.bar_w + 7) + "\" y=\"" + fixed(y + 4) + "\">1e" +
         std::to_string(d) + "</text>\n";
  }
  const double swatch_y = l.y0 + l.bar_h + 14;
  s += "<rect x=\"" + fixed(l.bar_x) + "\" y=\"" + fixed(swatch_y) + "\" width=\"" +
       fixed(l.bar_w) + "\" height=\"" + fixed(l.bar_w) +
       "\" fill=\"url(#exact-zero)\" stroke=\"#333333\"/>\n";
  s += "<text x=\"" + fixed(l.bar_x + l.bar_w + 7) + "\" y=\"" + fixed(swatch_y + 12) +
       "\">exactly 0</text>\n";
  s += "<text transform=\"translate(" + fixed(l.bar_x + l.bar_w + 72) + "," +
       fixed(l.y0 + l.bar_h / 2) + ") rotate(90)\" text-anchor=\"middle\">" +
       xml_escape(h.value_label) + " (log scale)</text>\n";
  s += "</g>\n";
  return s;
}

}  // namespace

std::string heatmap_svg(const Heatmap& h) {
  const int R = static_cast<int>(h.row_labels.size());
  const int K = static_cast<int>(h.column_labels.size());
  const DecadeScale scale = decade_scale(h, R, K);
  const Layout layout = layout_of(h, R, K);
  return svg_head(h, layout) + svg_cells(h, layout, scale, R, K) + svg_axes(h, layout, R, K) +
         svg_colour_bar(h, layout, scale) + "</svg>\n";
}

}  // namespace gpt2::oracle

#pragma once
// Minimal SVG charts for the examples: line plots (optionally log-y), point trajectories over a
// function's contour lines, several panels side by side; heatmaps with labelled axes. A browser
// opens the result.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <xgrad/serialize.hpp>

namespace xgrad::examples {

struct Series {
  std::string label;
  std::vector<double> x, y;
  bool markers = false;
  bool line = true;  // false with markers: a scatter plot
};

struct Panel {
  Panel(std::string title, std::string xlabel, std::string ylabel)
      : title(std::move(title)), xlabel(std::move(xlabel)), ylabel(std::move(ylabel)) {}
  std::string title, xlabel, ylabel;
  std::vector<Series> series;
  bool log_y = false;
  bool legend_bottom = false;  // legend in the lower right corner instead of the upper right
  // Contour lines of f over the panel's range (drawn under the series) when set.
  std::function<double(double, double)> contour;
  std::vector<double> contour_levels;
  // Fixed ranges; computed from the data when lo == hi.
  double x_lo = 0, x_hi = 0, y_lo = 0, y_hi = 0;
};

namespace plot_detail {

inline const char* color(size_t i) {
  static const char* c[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                            "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  return c[i % 10];
}

inline std::string fmt(double v) {
  std::ostringstream os;
  if (v != 0 && (std::fabs(v) < 1e-2 || std::fabs(v) >= 1e4)) os.precision(1), os << std::scientific << v;
  else os.precision(3), os << v;
  return os.str();
}

inline std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) o += c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '&' ? "&amp;" : std::string(1, c);
  return o;
}

// Marching squares: segments where f crosses `level` on an n×n grid.
inline void contour_segments(const std::function<double(double, double)>& f, double level, double x0, double x1,
                             double y0, double y1, int n, std::vector<std::array<double, 4>>& out) {
  auto X = [&](int i) { return x0 + (x1 - x0) * i / n; };
  auto Y = [&](int j) { return y0 + (y1 - y0) * j / n; };
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      double v[4] = {f(X(i), Y(j)), f(X(i + 1), Y(j)), f(X(i + 1), Y(j + 1)), f(X(i), Y(j + 1))};
      double px[4] = {X(i), X(i + 1), X(i + 1), X(i)}, py[4] = {Y(j), Y(j), Y(j + 1), Y(j + 1)};
      std::vector<std::pair<double, double>> pts;
      for (int e = 0; e < 4; ++e) {
        int a = e, b = (e + 1) % 4;
        if ((v[a] < level) != (v[b] < level)) {
          double t = (level - v[a]) / (v[b] - v[a]);
          pts.push_back({px[a] + t * (px[b] - px[a]), py[a] + t * (py[b] - py[a])});
        }
      }
      for (size_t k = 0; k + 1 < pts.size(); k += 2)
        out.push_back({pts[k].first, pts[k].second, pts[k + 1].first, pts[k + 1].second});
    }
}

inline constexpr int kPanelW = 520, kPanelH = 380, kMarginL = 70, kMarginR = 20, kMarginT = 36, kMarginB = 50;

// The axes' ranges: the panel's own, or the data's (y padded by 5%); y in log10 when log_y.
struct Box {
  double x0, x1, y0, y1;
};
inline Box panel_box(const Panel& P) {
  auto ty = [&](double v) { return P.log_y ? std::log10(std::max(v, 1e-300)) : v; };
  Box b{P.x_lo, P.x_hi, P.y_lo, P.y_hi};
  if (b.x0 != b.x1 && b.y0 != b.y1) {
    if (P.log_y) b.y0 = ty(b.y0), b.y1 = ty(b.y1);
    return b;
  }
  b = {INFINITY, -INFINITY, INFINITY, -INFINITY};
  for (auto& S : P.series)
    for (size_t i = 0; i < S.x.size(); ++i) {
      if (!std::isfinite(S.y[i]) || (P.log_y && S.y[i] <= 0)) continue;
      b.x0 = std::min(b.x0, S.x[i]), b.x1 = std::max(b.x1, S.x[i]);
      b.y0 = std::min(b.y0, ty(S.y[i])), b.y1 = std::max(b.y1, ty(S.y[i]));
    }
  if (!std::isfinite(b.x0)) b = {0, 1, 0, 1};
  if (b.x1 == b.x0) b.x1 = b.x0 + 1;
  if (b.y1 == b.y0) b.y1 = b.y0 + 1;
  const double pad = (b.y1 - b.y0) * 0.05;
  b.y0 -= pad, b.y1 += pad;
  return b;
}

// One panel (the index names its clip path) with its top-left corner at (ox, oy).
inline void draw_panel(std::ostream& s, const Panel& P, size_t index, double ox, double oy) {
  const int W = kPanelW, H = kPanelH, ml = kMarginL, mt = kMarginT;
  const Box box = panel_box(P);
  const double x0 = box.x0, x1 = box.x1, y0 = box.y0, y1 = box.y1;
  auto ty = [&](double v) { return P.log_y ? std::log10(std::max(v, 1e-300)) : v; };
  const double pw = W - ml - kMarginR, ph = H - mt - kMarginB;
  auto sx = [&](double x) { return ox + ml + (x - x0) / (x1 - x0) * pw; };
  auto sy = [&](double y) { return oy + mt + (1 - (y - y0) / (y1 - y0)) * ph; };
  s << "<text x='" << ox + W / 2 << "' y='" << oy + 22 << "' text-anchor='middle' font-size='14'>" << esc(P.title)
    << "</text>\n";
  s << "<rect x='" << ox + ml << "' y='" << oy + mt << "' width='" << pw << "' height='" << ph
    << "' fill='none' stroke='#444'/>\n";
  for (int t = 0; t <= 4; ++t) {
    double xv = x0 + (x1 - x0) * t / 4, yv = y0 + (y1 - y0) * t / 4;
    s << "<text x='" << sx(xv) << "' y='" << oy + mt + ph + 16 << "' text-anchor='middle'>" << fmt(xv) << "</text>\n";
    s << "<text x='" << ox + ml - 6 << "' y='" << sy(yv) + 4 << "' text-anchor='end'>"
      << fmt(P.log_y ? std::pow(10.0, yv) : yv) << "</text>\n";
    s << "<line x1='" << ox + ml << "' x2='" << ox + ml + pw << "' y1='" << sy(yv) << "' y2='" << sy(yv)
      << "' stroke='#eee'/>\n";
  }
  s << "<text x='" << ox + ml + pw / 2 << "' y='" << oy + H - 12 << "' text-anchor='middle'>" << esc(P.xlabel)
    << "</text>\n";
  s << "<text transform='translate(" << ox + 16 << "," << oy + mt + ph / 2 << ") rotate(-90)' text-anchor='middle'>"
    << esc(P.ylabel) << "</text>\n";
  if (P.contour) {
    std::vector<std::array<double, 4>> seg;
    for (double lv : P.contour_levels) contour_segments(P.contour, lv, x0, x1, y0, y1, 80, seg);
    s << "<path fill='none' stroke='#bbb' d='";
    for (auto& g : seg) s << "M" << sx(g[0]) << "," << sy(g[1]) << "L" << sx(g[2]) << "," << sy(g[3]);
    s << "'/>\n";
  }
  s << "<clipPath id='c" << index << "'><rect x='" << ox + ml << "' y='" << oy + mt << "' width='" << pw
    << "' height='" << ph << "'/></clipPath>\n<g clip-path='url(#c" << index << ")'>\n";
  for (size_t k = 0; k < P.series.size(); ++k) {
    const Series& S = P.series[k];
    if (S.line) {
      s << "<polyline fill='none' stroke-width='1.8' stroke='" << color(k) << "' points='";
      for (size_t i = 0; i < S.x.size(); ++i)
        if (std::isfinite(S.y[i]) && !(P.log_y && S.y[i] <= 0)) s << sx(S.x[i]) << "," << sy(ty(S.y[i])) << " ";
      s << "'/>\n";
    }
    if (S.markers)
      for (size_t i = 0; i < S.x.size(); ++i)
        s << "<circle r='2.5' fill='" << color(k) << "' cx='" << sx(S.x[i]) << "' cy='" << sy(ty(S.y[i])) << "'/>\n";
  }
  s << "</g>\n";
  for (size_t k = 0; k < P.series.size(); ++k) {
    double lx = ox + ml + pw - 200,
           ly = P.legend_bottom ? oy + mt + ph - 10 - 16 * static_cast<double>(P.series.size() - 1 - k)
                                : oy + mt + 14 + 16 * static_cast<double>(k);
    s << "<rect x='" << lx - 4 << "' y='" << ly - 11 << "' width='200' height='16' fill='white' opacity='0.8'/>";
    if (P.series[k].line)
      s << "<line x1='" << lx << "' x2='" << lx + 22 << "' y1='" << ly - 4 << "' y2='" << ly - 4 << "' stroke='"
        << color(k) << "' stroke-width='2'/>";
    else
      s << "<circle r='3' fill='" << color(k) << "' cx='" << lx + 11 << "' cy='" << ly - 4 << "'/>";
    s << "<text x='" << lx + 28 << "' y='" << ly << "'>" << esc(P.series[k].label) << "</text>\n";
  }
}

}  // namespace plot_detail

// Writes the panels in a row (cols per row) as one SVG file, atomically.
inline void write_svg(const std::string& path, const std::vector<Panel>& panels, int cols = 2) {
  using namespace plot_detail;
  const int rows = (static_cast<int>(panels.size()) + cols - 1) / cols;
  const int ncols = std::min<int>(cols, static_cast<int>(panels.size()));
  std::ostringstream s;
  s << "<svg xmlns='http://www.w3.org/2000/svg' width='" << kPanelW * ncols << "' height='" << kPanelH * rows
    << "' font-family='sans-serif' font-size='12'>\n<rect width='100%' height='100%' fill='white'/>\n";
  for (size_t p = 0; p < panels.size(); ++p)
    draw_panel(s, panels[p], p, static_cast<double>((p % cols) * kPanelW), static_cast<double>((p / cols) * kPanelH));
  s << "</svg>\n";
  write_file_atomic(path, s.str());
}

// A matrix drawn as coloured cells with labels on both axes (attention weights: rows are the
// queries, columns the keys, values in [0, vmax]), as d2l's show_heatmaps.
struct Heatmap {
  std::string title;
  std::vector<std::string> row_labels, col_labels;
  std::vector<double> values;  // rows × cols, row-major
  double vmax = 1.0;           // drawn darkest (the title should say when it is not 1)
};

// Writes heatmaps in a grid, `cols` per row, under a common title; white (0) to dark red (1).
inline void write_heatmaps_svg(const std::string& path, const std::string& title, const std::vector<Heatmap>& maps,
                               int cols) {
  using namespace plot_detail;
  size_t max_r = 1, max_c = 1;
  for (auto& m : maps) max_r = std::max(max_r, m.row_labels.size()), max_c = std::max(max_c, m.col_labels.size());
  const double cell = std::clamp(360.0 / static_cast<double>(std::max(max_r, max_c)), 8.0, 22.0);
  const double label = 64, top = 48, gap = 24;
  const double pw = label + cell * static_cast<double>(max_c) + gap, ph = 24 + label + cell * static_cast<double>(max_r) + gap;
  const int ncols = std::max(1, std::min<int>(cols, static_cast<int>(maps.size())));
  const int nrows = (static_cast<int>(maps.size()) + ncols - 1) / ncols;
  std::ostringstream s;
  s.precision(5);
  const double width = std::max(pw * ncols + 20, 20 + 8.0 * static_cast<double>(title.size()));  // the title fits
  s << "<svg xmlns='http://www.w3.org/2000/svg' width='" << width << "' height='" << top + ph * nrows
    << "' font-family='sans-serif' font-size='" << std::min(11.0, cell * 0.8) << "'>\n"
    << "<rect width='100%' height='100%' fill='white'/>\n<text x='10' y='22' font-size='15'>" << esc(title)
    << "</text>\n<text x='10' y='40' font-size='11' fill='#555'>rows: queries, columns: keys; white = 0, dark red = 1"
    << " (or the largest value a title gives)"
    << "</text>\n";
  for (size_t i = 0; i < maps.size(); ++i) {
    const Heatmap& m = maps[i];
    const size_t R = m.row_labels.size(), C = m.col_labels.size();
    const double ox = 10 + static_cast<double>(i % static_cast<size_t>(ncols)) * pw,
                 oy = top + static_cast<double>(i / static_cast<size_t>(ncols)) * ph;
    const double gx = ox + label, gy = oy + 24 + label;  // grid origin
    s << "<text x='" << gx << "' y='" << oy + 14 << "' font-size='12'>" << esc(m.title) << "</text>\n";
    for (size_t r = 0; r < R; ++r)
      for (size_t c = 0; c < C; ++c) {
        const double v = std::clamp(m.values.at(r * C + c) / m.vmax, 0.0, 1.0);
        if (v < 0.004) continue;  // white on white: leaving it out keeps the file small
        // white → #b2182b (dark red), linear in each channel
        char fill[8];
        std::snprintf(fill, sizeof fill, "#%02x%02x%02x", static_cast<int>(255 - v * (255 - 178)),
                      static_cast<int>(255 - v * (255 - 24)), static_cast<int>(255 - v * (255 - 43)));
        s << "<rect x='" << gx + cell * static_cast<double>(c) << "' y='" << gy + cell * static_cast<double>(r)
          << "' width='" << cell << "' height='" << cell << "' fill='" << fill << "'/>";
      }
    s << "\n<rect x='" << gx << "' y='" << gy << "' width='" << cell * static_cast<double>(C) << "' height='"
      << cell * static_cast<double>(R) << "' fill='none' stroke='#888'/>\n";
    for (size_t r = 0; r < R; ++r)
      s << "<text x='" << gx - 4 << "' y='" << gy + cell * (static_cast<double>(r) + 0.72) << "' text-anchor='end'>"
        << esc(m.row_labels[r]) << "</text>";
    for (size_t c = 0; c < C; ++c) {
      const double x = gx + cell * (static_cast<double>(c) + 0.65), y = gy - 4;
      s << "<text transform='translate(" << x << "," << y << ") rotate(-90)'>" << esc(m.col_labels[c]) << "</text>";
    }
    s << "\n";
  }
  s << "</svg>\n";
  write_file_atomic(path, s.str());
}

}  // namespace xgrad::examples

#include "charts/charts.h"

#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>

namespace steward::charts {
namespace {

// A categorical palette that stays distinguishable in grey scale and for common colour blindness
// (Okabe-Ito).
constexpr double kPalette[][3] = {{0.0, 0.447, 0.698}, {0.835, 0.369, 0.0}, {0.0, 0.620, 0.451},
                                  {0.8, 0.475, 0.655}, {0.337, 0.706, 0.914}, {0.902, 0.624, 0.0}};
constexpr int kPaletteSize = sizeof(kPalette) / sizeof(kPalette[0]);

// Heckbert's nice number: the 1, 2, 5 (or 10) multiple of a power of ten nearest x (round) or
// at least x (ceiling).
double NiceNumber(double x, bool round) {
  const double exponent = std::floor(std::log10(x));
  const double fraction = x / std::pow(10.0, exponent);
  double nice;
  if (round) {
    nice = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10;
  } else {
    nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
  }
  return nice * std::pow(10.0, exponent);
}

std::string FormatTick(double v, double step) {
  char buf[32];
  const int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  std::snprintf(buf, sizeof buf, "%.*f", std::min(decimals, 6), std::abs(v) < step * 1e-6 ? 0.0 : v);
  return buf;
}

struct Canvas {
  cairo_surface_t* surface = nullptr;
  cairo_t* cr = nullptr;
  Canvas(int w, int h) {
    surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    cr = cairo_create(surface);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  }
  ~Canvas() {
    cairo_destroy(cr);
    cairo_surface_destroy(surface);
  }
  Canvas(const Canvas&) = delete;
  Canvas& operator=(const Canvas&) = delete;

  void Text(double x, double y, const std::string& text, double size, double align = 0.0, bool bold = false) {
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
    cairo_text_extents_t ext;
    cairo_text_extents(cr, text.c_str(), &ext);
    cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
    cairo_move_to(cr, x - align * ext.x_advance, y);
    cairo_show_text(cr, text.c_str());
  }
  void VerticalText(double x, double y, const std::string& text, double size) {
    cairo_save(cr);
    cairo_translate(cr, x, y);
    cairo_rotate(cr, -M_PI / 2);
    Text(0, 0, text, size, 0.5);
    cairo_restore(cr);
  }
  Status Write(const std::string& path, const std::string& what) {
    const cairo_status_t status = cairo_surface_write_to_png(surface, path.c_str());
    if (status != CAIRO_STATUS_SUCCESS) {
      return IoError(what + ": cannot write PNG '" + path + "' (" + cairo_status_to_string(status) +
                     "); check that the directory exists and is writable");
    }
    return Status::Ok();
  }
};

// The plot area inside margins, and the mapping from data to pixels.
struct Frame {
  double left, top, right, bottom;
  double x_lo, x_hi, y_lo, y_hi;
  double X(double v) const { return left + (x_hi > x_lo ? (v - x_lo) / (x_hi - x_lo) : 0.5) * (right - left); }
  double Y(double v) const { return bottom - (y_hi > y_lo ? (v - y_lo) / (y_hi - y_lo) : 0.5) * (bottom - top); }
};

void DrawYAxis(Canvas& c, Frame& f, double lo, double hi, const std::string& label) {
  const std::vector<double> ticks = NiceTicks(lo, hi, 5);
  f.y_lo = ticks.front();
  f.y_hi = ticks.back();
  const double step = ticks.size() > 1 ? ticks[1] - ticks[0] : 1.0;
  cairo_set_line_width(c.cr, 1.0);
  for (double t : ticks) {
    cairo_set_source_rgb(c.cr, 0.88, 0.88, 0.88);
    cairo_move_to(c.cr, f.left, std::round(f.Y(t)) + 0.5);
    cairo_line_to(c.cr, f.right, std::round(f.Y(t)) + 0.5);
    cairo_stroke(c.cr);
    c.Text(f.left - 6, f.Y(t) + 4, FormatTick(t, step), 11, 1.0);
  }
  c.VerticalText(16, (f.top + f.bottom) / 2, label, 12);
}

void DrawLegend(Canvas& c, const Frame& f, const std::vector<std::string>& names) {
  double x = f.left;
  for (size_t i = 0; i < names.size(); ++i) {
    const double* rgb = kPalette[i % kPaletteSize];
    cairo_set_source_rgb(c.cr, rgb[0], rgb[1], rgb[2]);
    cairo_rectangle(c.cr, x, f.top - 22, 12, 12);
    cairo_fill(c.cr);
    c.Text(x + 16, f.top - 12, names[i], 11);
    cairo_text_extents_t ext;
    cairo_text_extents(c.cr, names[i].c_str(), &ext);
    x += 16 + ext.x_advance + 18;
  }
}

}  // namespace

std::vector<double> NiceTicks(double lo, double hi, int target) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
  if (hi < lo) std::swap(lo, hi);
  if (hi == lo) {
    const double pad = lo == 0 ? 1.0 : std::abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  target = std::max(target, 1);
  const double range = NiceNumber(hi - lo, false);
  const double step = NiceNumber(range / target, true);
  const double first = std::floor(lo / step) * step;
  const double last = std::ceil(hi / step) * step;
  std::vector<double> ticks;
  for (double t = first; t <= last + step * 0.5; t += step) ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  return ticks;
}

Status WritePng(const LineChart& chart, const std::string& path, Size size) {
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo, y_lo = x_lo, y_hi = -x_lo;
  for (const auto& s : chart.series) {
    if (s.x.size() != s.y.size()) {
      return InvalidArgument("chart '" + chart.title + "': series '" + s.name + "' has " + std::to_string(s.x.size()) +
                             " x values but " + std::to_string(s.y.size()) + " y values; give one y per x");
    }
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      x_lo = std::min(x_lo, s.x[i]);
      x_hi = std::max(x_hi, s.x[i]);
      y_lo = std::min(y_lo, s.y[i]);
      y_hi = std::max(y_hi, s.y[i]);
    }
  }
  if (!std::isfinite(x_lo)) x_lo = 0, x_hi = 1, y_lo = 0, y_hi = 1;  // no data: empty axes
  if (chart.y_from_zero) y_lo = std::min(y_lo, 0.0);
  Canvas c(size.width, size.height);
  Frame f{64, 56, size.width - 24.0, size.height - 48.0, x_lo, x_hi, 0, 1};
  c.Text(f.left, 22, chart.title, 15, 0.0, true);
  DrawYAxis(c, f, y_lo, y_hi, chart.y_label);
  const std::vector<double> xt = NiceTicks(x_lo, x_hi, 6);
  const double xstep = xt.size() > 1 ? xt[1] - xt[0] : 1.0;
  for (double t : xt) {
    if (t < x_lo - 1e-12 || t > x_hi + 1e-12) continue;
    c.Text(f.X(t), f.bottom + 16, FormatTick(t, xstep), 11, 0.5);
  }
  c.Text((f.left + f.right) / 2, size.height - 10.0, chart.x_label, 12, 0.5);
  std::vector<std::string> names;
  for (size_t i = 0; i < chart.series.size(); ++i) {
    const auto& s = chart.series[i];
    names.push_back(s.name);
    const double* rgb = kPalette[i % kPaletteSize];
    cairo_set_source_rgb(c.cr, rgb[0], rgb[1], rgb[2]);
    cairo_set_line_width(c.cr, 2.0);
    bool pen = false;
    for (size_t j = 0; j < s.x.size(); ++j) {
      if (!std::isfinite(s.x[j]) || !std::isfinite(s.y[j])) {
        pen = false;
        continue;
      }
      if (pen) {
        cairo_line_to(c.cr, f.X(s.x[j]), f.Y(s.y[j]));
      } else {
        cairo_move_to(c.cr, f.X(s.x[j]), f.Y(s.y[j]));
      }
      pen = true;
    }
    cairo_stroke(c.cr);
    for (size_t j = 0; j < s.x.size(); ++j) {  // points, so single-point series show
      if (!std::isfinite(s.x[j]) || !std::isfinite(s.y[j])) continue;
      cairo_arc(c.cr, f.X(s.x[j]), f.Y(s.y[j]), 2.5, 0, 2 * M_PI);
      cairo_fill(c.cr);
    }
  }
  DrawLegend(c, f, names);
  return c.Write(path, "chart '" + chart.title + "'");
}

Status WritePng(const BarChart& chart, const std::string& path, Size size) {
  if (chart.values.size() != chart.series_names.size()) {
    return InvalidArgument("chart '" + chart.title + "': " + std::to_string(chart.values.size()) + " value rows for " +
                           std::to_string(chart.series_names.size()) + " series; give one row per series");
  }
  double y_lo = 0, y_hi = 0;
  for (size_t s = 0; s < chart.values.size(); ++s) {
    if (chart.values[s].size() != chart.groups.size()) {
      return InvalidArgument("chart '" + chart.title + "': series '" + chart.series_names[s] + "' has " +
                             std::to_string(chart.values[s].size()) + " values for " + std::to_string(chart.groups.size()) +
                             " groups; give one value per group");
    }
    for (double v : chart.values[s]) {
      if (!std::isfinite(v)) continue;
      y_lo = std::min(y_lo, v);
      y_hi = std::max(y_hi, v);
    }
  }
  if (y_hi == y_lo) y_hi = y_lo + 1;
  Canvas c(size.width, size.height);
  Frame f{64, 56, size.width - 24.0, size.height - 40.0, 0, 1, 0, 1};
  c.Text(f.left, 22, chart.title, 15, 0.0, true);
  DrawYAxis(c, f, y_lo, y_hi, chart.y_label);
  const size_t groups = chart.groups.size(), series = chart.series_names.size();
  const double group_w = groups ? (f.right - f.left) / static_cast<double>(groups) : 0.0;
  const double bar_w = series ? group_w * 0.7 / static_cast<double>(series) : 0.0;
  char value[32];
  for (size_t g = 0; g < groups; ++g) {
    const double x0 = f.left + group_w * static_cast<double>(g) + group_w * 0.15;
    for (size_t s = 0; s < series; ++s) {
      const double v = chart.values[s][g];
      if (!std::isfinite(v)) continue;
      const double* rgb = kPalette[s % kPaletteSize];
      cairo_set_source_rgb(c.cr, rgb[0], rgb[1], rgb[2]);
      const double top = std::min(f.Y(v), f.Y(0)), h = std::abs(f.Y(v) - f.Y(0));
      cairo_rectangle(c.cr, x0 + bar_w * static_cast<double>(s), top, bar_w - 2, h);
      cairo_fill(c.cr);
      std::snprintf(value, sizeof value, "%.3g", v);
      c.Text(x0 + bar_w * (static_cast<double>(s) + 0.5), top - 4, value, 10, 0.5);
    }
    c.Text(f.left + group_w * (static_cast<double>(g) + 0.5), f.bottom + 18, chart.groups[g], 11, 0.5);
  }
  cairo_set_source_rgb(c.cr, 0.3, 0.3, 0.3);
  cairo_move_to(c.cr, f.left, std::round(f.Y(0)) + 0.5);
  cairo_line_to(c.cr, f.right, std::round(f.Y(0)) + 0.5);
  cairo_stroke(c.cr);
  DrawLegend(c, f, chart.series_names);
  return c.Write(path, "chart '" + chart.title + "'");
}

}  // namespace steward::charts

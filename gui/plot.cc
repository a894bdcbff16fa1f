#include "gui/plot.h"

#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <limits>

namespace steward::gui {
namespace {

std::string TimeLabel(double ms) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000.0);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%m-%d %H:%M", &tm);
  return buf;
}

void DashedLine(ImDrawList* draw, ImVec2 a, ImVec2 b, unsigned int color, float thickness, float dash) {
  const float dx = b.x - a.x, dy = b.y - a.y;
  const float len = std::sqrt(dx * dx + dy * dy);
  if (len <= 0.0f) return;
  for (float s = 0.0f; s < len; s += 2.0f * dash) {
    const float e = std::min(len, s + dash);
    draw->AddLine(ImVec2(a.x + dx * s / len, a.y + dy * s / len), ImVec2(a.x + dx * e / len, a.y + dy * e / len), color, thickness);
  }
}

}  // namespace

unsigned int SeriesColor(size_t i) {
  static const unsigned int kPalette[] = {IM_COL32(80, 160, 255, 255), IM_COL32(255, 140, 60, 255),
                                          IM_COL32(90, 200, 120, 255), IM_COL32(220, 90, 200, 255),
                                          IM_COL32(230, 210, 80, 255)};
  return kPalette[i % (sizeof kPalette / sizeof kPalette[0])];
}

bool LinePlot(const char* id, const std::vector<Series>& series, float width, float height, const char* y_format) {
  PlotAxes axes;
  axes.y_format = y_format;
  return LinePlot(id, series, width, height, axes);
}

bool LinePlot(const char* id, const std::vector<Series>& series, float width, float height, const PlotAxes& axes,
              const char* empty_note) {
  double xmin = std::numeric_limits<double>::infinity(), xmax = -xmin, ymin = xmin, ymax = -xmin;
  for (const Series& s : series) {
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      xmin = std::min(xmin, s.x[i]);
      xmax = std::max(xmax, s.x[i]);
      ymin = std::min(ymin, s.y[i]);
      ymax = std::max(ymax, s.y[i]);
    }
  }
  ImGui::BeginChild(id, ImVec2(width, height), true, ImGuiWindowFlags_NoScrollbar);
  if (!(xmax > xmin)) {
    ImGui::TextDisabled("%s", empty_note);
    ImGui::EndChild();
    return false;
  }
  if (!(ymax > ymin)) ymax = ymin + 1.0;
  ymin = std::min(ymin, 0.0);
  ymax += (ymax - ymin) * 0.05;
  ImDrawList* draw = ImGui::GetWindowDrawList();
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float font = ImGui::GetFontSize();
  char top_label[64], bottom_label[64];
  std::snprintf(top_label, sizeof top_label, axes.y_format, ymax);
  std::snprintf(bottom_label, sizeof bottom_label, axes.y_format, ymin);
  const float label_w = std::max(ImGui::CalcTextSize(top_label).x, ImGui::CalcTextSize(bottom_label).x) + font * 0.5f;
  const float left = origin.x + label_w, right = origin.x + avail.x - font * 0.5f;
  // The legend wraps onto as many lines as it needs under the x axis.
  int legend_lines = 1;
  {
    float x = left;
    for (const Series& s : series) {
      const float w = font * 2.7f + ImGui::CalcTextSize(s.label.c_str()).x;
      if (x > left && x + w > right) {
        ++legend_lines;
        x = left;
      }
      x += w;
    }
  }
  const float top = origin.y + font * 1.2f, bottom = origin.y + avail.y - font * (1.5f + 1.25f * static_cast<float>(legend_lines));
  if (bottom - top < font) {
    ImGui::TextDisabled("too small to plot");
    ImGui::EndChild();
    return false;
  }
  const ImU32 axis = ImGui::GetColorU32(ImGuiCol_TextDisabled);
  const ImU32 grid = IM_COL32(255, 255, 255, 25);
  draw->AddLine(ImVec2(left, bottom), ImVec2(right, bottom), axis);
  draw->AddLine(ImVec2(left, top), ImVec2(left, bottom), axis);
  draw->AddLine(ImVec2(left, (top + bottom) * 0.5f), ImVec2(right, (top + bottom) * 0.5f), grid);
  draw->AddLine(ImVec2(left, top), ImVec2(right, top), grid);
  draw->AddText(ImVec2(origin.x, top - font * 0.5f), axis, top_label);
  draw->AddText(ImVec2(origin.x, bottom - font * 0.5f), axis, bottom_label);
  if (axes.y_label[0]) draw->AddText(ImVec2(left + font * 0.3f, origin.y), axis, axes.y_label);
  const std::string x0 = axes.x_is_time ? TimeLabel(xmin) : [&] { char b[32]; std::snprintf(b, sizeof b, "%g", xmin); return std::string(b); }();
  const std::string x1 = axes.x_is_time ? TimeLabel(xmax) : [&] { char b[32]; std::snprintf(b, sizeof b, "%g", xmax); return std::string(b); }();
  draw->AddText(ImVec2(left, bottom + font * 0.1f), axis, x0.c_str());
  draw->AddText(ImVec2(right - ImGui::CalcTextSize(x1.c_str()).x, bottom + font * 0.1f), axis, x1.c_str());
  if (axes.x_label[0]) {
    const float w = ImGui::CalcTextSize(axes.x_label).x;
    draw->AddText(ImVec2((left + right - w) * 0.5f, bottom + font * 0.1f), axis, axes.x_label);
  }
  auto px = [&](double x) { return left + static_cast<float>((x - xmin) / (xmax - xmin)) * (right - left); };
  auto py = [&](double y) { return bottom - static_cast<float>((y - ymin) / (ymax - ymin)) * (bottom - top); };
  float legend_x = left;
  const float legend_y = bottom + font * 1.3f;
  draw->PushClipRect(ImVec2(left - 3, top - 3), ImVec2(right + 3, bottom + 3), true);
  for (const Series& s : series) {
    std::vector<ImVec2> points;
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (std::isfinite(s.y[i])) points.emplace_back(px(s.x[i]), py(s.y[i]));
    }
    if (s.dashed) {
      for (size_t i = 1; i < points.size(); ++i) DashedLine(draw, points[i - 1], points[i], s.color, 1.5f, font * 0.3f);
    } else if (points.size() >= 2) {
      draw->AddPolyline(points.data(), static_cast<int>(points.size()), s.color, 0, 2.0f);
    }
    if (points.size() < 80) {
      for (const ImVec2& p : points) draw->AddCircleFilled(p, 2.0f, s.color);
    }
  }
  draw->PopClipRect();
  float line_y = legend_y;
  for (const Series& s : series) {
    const float w = font * 2.7f + ImGui::CalcTextSize(s.label.c_str()).x;
    if (legend_x > left && legend_x + w > right) {
      legend_x = left;
      line_y += font * 1.25f;
    }
    const ImVec2 a(legend_x, line_y + font * 0.5f), b(legend_x + font * 1.4f, line_y + font * 0.5f);
    if (s.dashed) {
      DashedLine(draw, a, b, s.color, 2.0f, font * 0.25f);
    } else {
      draw->AddLine(a, b, s.color, 3.0f);
    }
    draw->AddText(ImVec2(legend_x + font * 1.7f, line_y), ImGui::GetColorU32(ImGuiCol_Text), s.label.c_str());
    legend_x += w;
  }
  ImGui::EndChild();
  return true;
}

void IntervalBars(const char* id, const std::vector<IntervalBar>& bars, float width, float height, double x_max,
                  const char* x_format, double x_scale) {
  ImGui::BeginChild(id, ImVec2(width, height), true);
  if (bars.empty() || !(x_max > 0)) {
    ImGui::TextDisabled("no data yet");
    ImGui::EndChild();
    return;
  }
  ImDrawList* draw = ImGui::GetWindowDrawList();
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float font = ImGui::GetFontSize();
  float label_w = 0.0f;
  for (const IntervalBar& b : bars) label_w = std::max(label_w, ImGui::CalcTextSize(b.label.c_str()).x);
  const float left = origin.x + label_w + font * 0.6f, right = origin.x + avail.x - font * 2.0f;
  const float top = origin.y + font * 0.4f;
  // Rows never shrink below readable: the region scrolls instead.
  const float row = std::max(font * 1.25f, std::min(font * 1.5f, (avail.y - font * 3.0f) / static_cast<float>(bars.size())));
  const ImU32 axis = ImGui::GetColorU32(ImGuiCol_TextDisabled);
  const ImU32 text = ImGui::GetColorU32(ImGuiCol_Text);
  auto px = [&](double x) { return left + static_cast<float>(std::clamp(x / x_max, 0.0, 1.0)) * (right - left); };
  const float axis_y = top + row * static_cast<float>(bars.size()) + font * 0.2f;
  for (size_t i = 0; i < bars.size(); ++i) {
    const IntervalBar& b = bars[i];
    const float y0 = top + row * static_cast<float>(i), y1 = y0 + row * 0.75f, ym = (y0 + y1) * 0.5f;
    draw->AddText(ImVec2(origin.x, y0 + (row * 0.75f - font) * 0.5f), text, b.label.c_str());
    draw->AddRectFilled(ImVec2(left, y0), ImVec2(px(b.value), y1), (b.color & 0x00FFFFFF) | 0xB0000000);
    if (b.high > b.low) {
      draw->AddLine(ImVec2(px(b.low), ym), ImVec2(px(b.high), ym), text, 1.5f);
      draw->AddLine(ImVec2(px(b.low), y0 + 2), ImVec2(px(b.low), y1 - 2), text, 1.5f);
      draw->AddLine(ImVec2(px(b.high), y0 + 2), ImVec2(px(b.high), y1 - 2), text, 1.5f);
    }
    if (b.target >= 0) {
      const float tx = px(b.target);
      draw->AddTriangleFilled(ImVec2(tx - font * 0.3f, y0 - 1), ImVec2(tx + font * 0.3f, y0 - 1), ImVec2(tx, y0 + font * 0.35f), IM_COL32(255, 255, 255, 230));
      draw->AddLine(ImVec2(tx, y0), ImVec2(tx, y1), IM_COL32(255, 255, 255, 230), 2.0f);
    }
  }
  draw->AddLine(ImVec2(left, axis_y), ImVec2(right, axis_y), axis);
  for (double f : {0.0, 0.5, 1.0}) {
    char buf[32];
    std::snprintf(buf, sizeof buf, x_format, f * x_max * x_scale);
    const float x = px(f * x_max) - ImGui::CalcTextSize(buf).x * static_cast<float>(f) * 0.5f;
    draw->AddLine(ImVec2(px(f * x_max), axis_y), ImVec2(px(f * x_max), axis_y + font * 0.25f), axis);
    draw->AddText(ImVec2(x, axis_y + font * 0.25f), axis, buf);
  }
  draw->AddText(ImVec2(origin.x, axis_y + font * 1.3f), axis, "bar: share  |-|: 95% CI  tick: target");
  ImGui::Dummy(ImVec2(avail.x, axis_y + font * 2.4f - origin.y));
  ImGui::EndChild();
}

}  // namespace steward::gui

#include "gui/plot.h"

#include <imgui.h>

#include <algorithm>
#include <cstdio>
#include <limits>

namespace steward::gui {

unsigned int SeriesColor(size_t i) {
  static const unsigned int kPalette[] = {IM_COL32(80, 160, 255, 255), IM_COL32(255, 140, 60, 255),
                                          IM_COL32(90, 200, 120, 255), IM_COL32(220, 90, 200, 255),
                                          IM_COL32(230, 210, 80, 255)};
  return kPalette[i % (sizeof kPalette / sizeof kPalette[0])];
}

bool LinePlot(const char* id, const std::vector<Series>& series, float width, float height, const char* y_format) {
  double xmin = std::numeric_limits<double>::infinity(), xmax = -xmin, ymin = xmin, ymax = -xmin;
  for (const Series& s : series) {
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      xmin = std::min(xmin, s.x[i]);
      xmax = std::max(xmax, s.x[i]);
      ymin = std::min(ymin, s.y[i]);
      ymax = std::max(ymax, s.y[i]);
    }
  }
  ImGui::BeginChild(id, ImVec2(width, height), true);
  if (!(xmax > xmin)) {
    ImGui::TextDisabled("no data yet");
    ImGui::EndChild();
    return false;
  }
  if (!(ymax > ymin)) {
    ymax = ymin + 1.0;
  }
  ymin = std::min(ymin, 0.0);
  ImDrawList* draw = ImGui::GetWindowDrawList();
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float font = ImGui::GetFontSize();
  const float left = origin.x + font * 4.0f, right = origin.x + avail.x - font * 0.5f;
  const float top = origin.y + font * 0.5f, bottom = origin.y + avail.y - font * 1.8f;
  const ImU32 axis = ImGui::GetColorU32(ImGuiCol_TextDisabled);
  draw->AddLine(ImVec2(left, bottom), ImVec2(right, bottom), axis);
  draw->AddLine(ImVec2(left, top), ImVec2(left, bottom), axis);
  char buf[64];
  std::snprintf(buf, sizeof buf, y_format, ymax);
  draw->AddText(ImVec2(origin.x, top - font * 0.5f), axis, buf);
  std::snprintf(buf, sizeof buf, y_format, ymin);
  draw->AddText(ImVec2(origin.x, bottom - font * 0.5f), axis, buf);
  auto px = [&](double x) { return left + static_cast<float>((x - xmin) / (xmax - xmin)) * (right - left); };
  auto py = [&](double y) { return bottom - static_cast<float>((y - ymin) / (ymax - ymin)) * (bottom - top); };
  float legend_x = left;
  for (const Series& s : series) {
    std::vector<ImVec2> points;
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) points.emplace_back(px(s.x[i]), py(s.y[i]));
    if (points.size() >= 2) draw->AddPolyline(points.data(), static_cast<int>(points.size()), s.color, 0, 2.0f);
    for (const ImVec2& p : points) draw->AddCircleFilled(p, 2.0f, s.color);
    draw->AddRectFilled(ImVec2(legend_x, bottom + font * 0.5f), ImVec2(legend_x + font * 0.8f, bottom + font * 1.3f), s.color);
    draw->AddText(ImVec2(legend_x + font, bottom + font * 0.4f), ImGui::GetColorU32(ImGuiCol_Text), s.label.c_str());
    legend_x += font * 1.5f + ImGui::CalcTextSize(s.label.c_str()).x + font;
  }
  ImGui::EndChild();
  return true;
}

}  // namespace steward::gui

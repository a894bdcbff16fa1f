// A small plotting API over ImDrawList (ImPlot is not packaged for Debian 12). Sizes are in pixels
// computed by the caller from the font size.
#pragma once

#include <string>
#include <vector>

namespace steward::gui {

struct Series {
  std::string label;
  std::vector<double> x;
  std::vector<double> y;
  unsigned int color = 0xFFFFFFFF;  // ImGui packed ABGR
};

// Draws line series with axes, min/max labels and a legend into a child region of the given size.
// Returns false when there is nothing to draw (then a "no data" note is shown instead).
bool LinePlot(const char* id, const std::vector<Series>& series, float width, float height, const char* y_format = "%.3f");

// Palette colour for series i.
unsigned int SeriesColor(size_t i);

}  // namespace steward::gui

// A small plotting API over ImDrawList (ImPlot is not packaged for Debian 12). Sizes are in pixels
// computed by the caller from the font size. Every plot has axes with labelled ends and a legend;
// series differ by dash as well as colour, so colour is never the only signal.
#pragma once

#include <string>
#include <vector>

namespace steward::gui {

struct Series {
  std::string label;
  std::vector<double> x;
  std::vector<double> y;
  unsigned int color = 0xFFFFFFFF;  // ImGui packed ABGR
  bool dashed = false;
};

struct PlotAxes {
  const char* y_format = "%.3f";  // printf format of the y labels
  const char* y_label = "";       // units, drawn above the y axis
  const char* x_label = "";       // drawn under the x axis
  bool x_is_time = false;         // x in ms since the epoch: ends labelled as UTC "MM-DD HH:MM"
};

// Draws line series into a child region of the given size. Returns false when there is nothing to
// draw (then `empty_note` is shown instead).
bool LinePlot(const char* id, const std::vector<Series>& series, float width, float height, const PlotAxes& axes,
              const char* empty_note = "no data yet");
// The original signature (y format only).
bool LinePlot(const char* id, const std::vector<Series>& series, float width, float height, const char* y_format = "%.3f");

// One horizontal bar with its interval and an optional target tick.
struct IntervalBar {
  std::string label;
  double value = 0, low = 0, high = 0;
  double target = -1;  // < 0: none
  unsigned int color = 0xFFFFFFFF;
};
// Bars on a 0..x_max axis (ticks at 0, half and x_max formatted with `x_format`), a whisker for the
// interval and a white tick for the target; the legend explains the marks.
void IntervalBars(const char* id, const std::vector<IntervalBar>& bars, float width, float height, double x_max,
                  const char* x_format = "%.0f%%", double x_scale = 100.0);

// Palette colour for series i.
unsigned int SeriesColor(size_t i);

}  // namespace steward::gui

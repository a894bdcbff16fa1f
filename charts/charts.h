// PNG charts for reports (the shadow report's HTML, reviewers' documents). Wraps cairo: no cairo
// type leaves this module. Two kinds:
//   LineChart  one or more series of (x, y) points, e.g. overlap@10 per time window
//   BarChart   grouped bars, e.g. latency percentiles of the served and the shadow model
// Axes get "nice" ticks (1, 2 or 5 times a power of ten; Heckbert, "Nice numbers for graph
// labels", Graphics Gems, 1990) and every series is named in a legend.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace steward::charts {

struct Series {
  std::string name;
  std::vector<double> x, y;  // same length; non-finite points are skipped
};

struct LineChart {
  std::string title, x_label, y_label;
  std::vector<Series> series;
  bool y_from_zero = true;  // start the y axis at 0 (rates, shares); false: fit the data
};

struct BarChart {
  std::string title, y_label;
  std::vector<std::string> groups;        // labels along the x axis
  std::vector<std::string> series_names;  // one bar per series within each group
  std::vector<std::vector<double>> values;  // [series][group]
};

struct Size {
  int width = 800, height = 400;
};

// Tick values covering [lo, hi] with about `target` steps of 1, 2 or 5 x 10^k.
std::vector<double> NiceTicks(double lo, double hi, int target = 5);

// Errors name the chart and the fix: mismatched series lengths, an unwritable path.
Status WritePng(const LineChart& chart, const std::string& path, Size size = {});
Status WritePng(const BarChart& chart, const std::string& path, Size size = {});

}  // namespace steward::charts

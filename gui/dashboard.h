// The desktop dashboard: a GLFW window with Dear ImGui drawing the registered panels from the
// latest database snapshot (refreshed on a background thread). The window sleeps between events
// and refreshes, so an idle dashboard costs almost nothing.
#pragma once

#include <atomic>
#include <string>

#include "common/status.h"

namespace steward::gui {

struct DashboardOptions {
  std::string db_path;
  // When set, render `frames` frames, write the window as a PNG to this path and return.
  std::string screenshot_path;
  int frames = 3;            // Default: 3 (with a screenshot)
  int width = 1600;          // window size in screen coordinates. Default: 1600x1000
  int height = 1000;
  int refresh_ms = 500;      // database refresh interval. Default: 500
  // Extra line shown in the title bar, e.g. "demo running". Optional.
  std::string subtitle;
  // Set by another thread to close the window; set by the dashboard when the user closes it.
  std::atomic<bool>* closed = nullptr;
};

// Errors: kUnavailable when no display can be opened (run under xvfb-run, or use --headless
// commands); kIoError when the screenshot cannot be written.
Status RunDashboard(const DashboardOptions& options);

// Writes RGBA pixels (rows top to bottom) as a PNG.
Status WritePng(const std::string& path, int width, int height, const unsigned char* rgba);

}  // namespace steward::gui

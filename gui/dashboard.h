// The desktop console: a GLFW window with Dear ImGui drawing the three workspaces (gui/console_view.h)
// from a console::Session (snapshots refreshed on a background thread, actions on a worker). The
// window sleeps between events and refreshes, so an idle console costs almost nothing.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "common/status.h"

namespace steward::gui {

struct DashboardOptions {
  std::string db_path;
  // Or a running `steward serve` (http://HOST:PORT) and its API token; the role is the token's.
  std::string url, token;
  // The role the console acts as locally (owner, reviewer, oncall, admin). Default "": read-only,
  // the owner's workspace first.
  std::string role;
  // When set, render `frames` frames, write the window as a PNG to this path and return.
  std::string screenshot_path;
  int frames = 3;            // Default: 3 (with a screenshot or --frame-stats)
  // Render `frames` frames paced at 60 a second (no waiting for input), then print one JSON line
  // (FrameStatsJson) on stdout at exit. Frame time: the UI thread's work per frame (building and
  // rendering it, up to glFinish), not the pacing. Default: false.
  bool frame_stats = false;
  int width = 1600;          // window size in screen coordinates. Default: 1600x1000
  int height = 1000;
  int refresh_ms = 500;      // database refresh interval. Default: 500
  // Model names experiment definitions may use (the CLI's registry). Default: no check.
  std::vector<std::string> known_models;
  // Extra line shown in the title bar, e.g. "demo running". Optional.
  std::string subtitle;
  // Set by another thread to close the window; set by the dashboard when the user closes it.
  std::atomic<bool>* closed = nullptr;
};

// Errors: kNotFound for a missing database; kInvalidArgument for an unknown role, for --role with a
// URL, or for neither or both of a database and a URL; kUnavailable when
// no display can be opened (run under xvfb-run, or use --headless commands); kIoError when the
// screenshot cannot be written.
Status RunDashboard(const DashboardOptions& options);

// Writes RGBA pixels (rows top to bottom) as a PNG.
Status WritePng(const std::string& path, int width, int height, const unsigned char* rgba);

// {"frames", "frame_ms_p50", "frame_ms_p99", "refresh_ms_p99", "refreshes", "initial_load_ms"} from
// per-frame and per-refresh durations (nearest-rank percentiles; 0 when empty). The first refresh
// (the one full load when the console opens) is reported as initial_load_ms, not in refresh_ms_p99.
std::string FrameStatsJson(std::vector<double> frame_ms, std::vector<double> refresh_ms);

}  // namespace steward::gui

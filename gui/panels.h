// Dashboard panels. Each panel is its own class with a Draw(); panels are registered in a
// PanelRegistry, which lays them out as tiles. Panels draw only from a DashboardSnapshot and are
// called on the UI thread only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "gui/snapshot.h"

namespace steward::gui {

// Where a panel sits, as fractions of the window: x, y, width, height.
struct Tile {
  float x, y, w, h;
};

class Panel {
 public:
  virtual ~Panel() = default;
  virtual const char* title() const = 0;
  virtual Tile tile() const = 0;
  // Draws the panel's contents (inside a window the registry has begun).
  virtual void Draw(const DashboardSnapshot& snapshot) = 0;
};

class PanelRegistry {
 public:
  void Register(std::unique_ptr<Panel> panel) { panels_.push_back(std::move(panel)); }
  // Draws every panel as a fixed tile of a display of the given size (pixels).
  void DrawAll(const DashboardSnapshot& snapshot, float display_w, float display_h);
  const std::vector<std::unique_ptr<Panel>>& panels() const { return panels_; }

 private:
  std::vector<std::unique_ptr<Panel>> panels_;
};

// Experiments with per-arm exposures, users, clicks, CTR and lift vs the first arm.
std::unique_ptr<Panel> MakeExperimentsPanel();
// CTR per arm over event time (hourly buckets).
std::unique_ptr<Panel> MakeTimelinePanel();
// Totals, audit chain status, refresh time, errors.
std::unique_ptr<Panel> MakeHealthPanel();
// The newest audit log rows.
std::unique_ptr<Panel> MakeAuditPanel();
// Served vs shadow lists per experiment (overlap, RBO, diversity, novelty, latency, drops).
std::unique_ptr<Panel> MakeShadowPanel();

// The standard dashboard: all of the above.
PanelRegistry DefaultPanels();

}  // namespace steward::gui

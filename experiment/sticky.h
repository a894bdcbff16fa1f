// StickyAssigner: keeps users in the arm they were first assigned (per bucket version), so a
// weight change does not move exposed users (GrowthBook's sticky bucketing). A coverage of 0
// (rollback, kill switch) still excludes everyone: safety wins over stickiness.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "experiment/assigner.h"

namespace steward::experiment {

class StickyAssigner {
 public:
  // `existing`: assignments loaded from storage for this experiment and bucket version.
  StickyAssigner(Assigner assigner, std::vector<std::pair<std::string, int>> existing);
  Assignment Assign(std::string_view user_id);
  // New assignments since the last call, to persist (storage::RolloutStore::SaveSticky).
  std::vector<std::pair<std::string, int>> TakePending();
  Assigner& assigner() { return assigner_; }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  Assigner assigner_;
  std::unordered_map<std::string, int, Hash, std::equal_to<>> sticky_;
  std::vector<std::pair<std::string, int>> pending_;
};

}  // namespace steward::experiment

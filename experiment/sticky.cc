#include "experiment/sticky.h"

namespace steward::experiment {

StickyAssigner::StickyAssigner(Assigner assigner, std::vector<std::pair<std::string, int>> existing)
    : assigner_(std::move(assigner)) {
  for (auto& [user, arm] : existing) sticky_.emplace(std::move(user), arm);
}

Assignment StickyAssigner::Assign(std::string_view user_id) {
  Assignment a = assigner_.Assign(user_id);
  if (assigner_.config().coverage <= 0.0) return a;
  auto it = sticky_.find(user_id);
  if (it != sticky_.end()) {
    a.arm_index = it->second;
    a.in_experiment = true;
    return a;
  }
  if (a.in_experiment) {
    sticky_.emplace(std::string(user_id), a.arm_index);
    pending_.emplace_back(std::string(user_id), a.arm_index);
  }
  return a;
}

std::vector<std::pair<std::string, int>> StickyAssigner::TakePending() {
  std::vector<std::pair<std::string, int>> out;
  out.swap(pending_);
  return out;
}

}  // namespace steward::experiment

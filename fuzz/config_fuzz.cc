// Experiment/config parser (YAML and JSON): ConfigNode::Parse, ParseExperimentConfig and the stored
// JSON round trip. Besides crashes and sanitizer reports, it checks the contracts of issue #15:
// a valid definition's stored JSON parses back to the same definition (strings stay strings), and
// assignment works on anything that validates.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/config.h"
#include "common/file.h"
#include "experiment/assigner.h"
#include "experiment/experiment_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > static_cast<size_t>(steward::kMaxConfigFileBytes)) return 0;  // LoadFile refuses larger files
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto node = steward::ConfigNode::Parse(text, "fuzz.yaml");
  if (!node.ok()) return 0;
  (void)node->ToJson();
  auto config = steward::experiment::ParseExperimentConfig(*node);
  if (!config.ok()) return 0;
  auto stored = steward::ConfigNode::Parse(config->source_json, "stored.json");
  if (!stored.ok()) std::abort();  // what the controller reads back must parse
  auto again = steward::experiment::ParseExperimentConfig(*stored);
  if (!again.ok()) std::abort();
  if (again->source_json != config->source_json || again->seed != config->seed || again->name != config->name) {
    std::abort();  // the stored form must be a fixed point, byte for byte
  }
  const steward::experiment::Assigner assigner(*config);
  (void)assigner.Assign("user-1");
  (void)assigner.Assign(config->name);
  return 0;
}

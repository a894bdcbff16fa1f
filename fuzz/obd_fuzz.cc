// The Open Bandit Dataset loaders (data/obd.cc): logs and item contexts. The first byte chooses
// the loader, so one corpus exercises both.
#include <cstdint>
#include <string>

#include "data/obd.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool items = data[0] & 1;
  const std::string path = steward::fuzz::WriteScratch("obd", data + 1, size - 1);
  if (items) {
    (void)steward::data::LoadObdItems(path);
  } else {
    (void)steward::data::LoadObdLog(path);
  }
  return 0;
}

// The goodbooks CSV loader (data/goodbooks.cc) through CsvReader: any bytes give books or an error.
#include <cstdint>
#include <string>

#include "data/goodbooks.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = steward::fuzz::WriteScratch("goodbooks", data, size);
  (void)steward::data::LoadGoodbooks(path);
  return 0;
}

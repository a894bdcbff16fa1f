// Shared by the harnesses: the loaders read files, so each input is written to one scratch file per
// process (under $TMPDIR) and loaded from there.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace steward::fuzz {

inline std::string WriteScratch(const char* name, const uint8_t* data, size_t size) {
  const char* tmp = std::getenv("TMPDIR");
  const std::string path = std::string(tmp && *tmp ? tmp : "/tmp") + "/steward-fuzz-" + name + "-" +
                           std::to_string(getpid()) + ".csv";
  std::FILE* fp = std::fopen(path.c_str(), "wb");
  if (!fp) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, fp) != size) std::abort();
  std::fclose(fp);
  return path;
}

}  // namespace steward::fuzz

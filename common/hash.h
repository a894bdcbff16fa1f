// Stable byte hashing (identical on every platform and run, unlike std::hash).
#pragma once

#include <cstdint>
#include <string_view>

namespace steward {

// FNV-1a 64-bit over the bytes of `s`.
inline uint64_t HashBytes(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace steward

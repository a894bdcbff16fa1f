#include "serving/user_id.h"

#include <limits>
#include <string>

#include "common/hash.h"

namespace steward::serving {
namespace {

// RFC 3629 UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int extra = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      extra = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + static_cast<size_t>(extra) >= s.size()) return false;  // truncated sequence
    for (int k = 1; k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + static_cast<size_t>(k)]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000)) return false;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += static_cast<size_t>(extra) + 1;
  }
  return true;
}

}  // namespace

int64_t InternalUserId(std::string_view key) {
  bool canonical = !key.empty() && key.size() <= 19 && (key.size() == 1 || key[0] != '0');
  uint64_t value = 0;
  for (char c : key) {
    if (!canonical) break;
    if (c < '0' || c > '9') {
      canonical = false;
      break;
    }
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (canonical && value <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return static_cast<int64_t>(value);
  return static_cast<int64_t>(HashBytes(key) | (uint64_t{1} << 63));
}

Status ValidateUserId(std::string_view key, std::string_view field) {
  const std::string f(field);
  if (key.empty()) return InvalidArgument(f + " is required: send the user's id as a string");
  if (key.size() > kMaxUserIdBytes) {
    return InvalidArgument(f + " is " + std::to_string(key.size()) + " bytes; at most " + std::to_string(kMaxUserIdBytes) +
                           " are accepted");
  }
  if (!ValidUtf8(key)) return InvalidArgument(f + " is not valid UTF-8; send it UTF-8 encoded");
  for (char c : key) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      return InvalidArgument(f + " contains a control character (byte " + std::to_string(static_cast<unsigned char>(c)) +
                             "); remove it");
    }
  }
  return Status::Ok();
}

}  // namespace steward::serving

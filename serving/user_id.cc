#include "serving/user_id.h"

#include <limits>
#include <string>

#include "common/hash.h"
#include "common/text.h"

namespace steward::serving {

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
  if (!IsValidUtf8(key)) return InvalidArgument(f + " is not valid UTF-8; send it UTF-8 encoded");
  for (char c : key) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      return InvalidArgument(f + " contains a control character (byte " + std::to_string(static_cast<unsigned char>(c)) +
                             "); remove it");
    }
  }
  return Status::Ok();
}

}  // namespace steward::serving

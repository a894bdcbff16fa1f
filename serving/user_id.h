// User ids: callers send strings (GrowthBook hashes the string); events and models use a stable
// 64-bit internal id derived from it without any shared state, so every process serving one
// database derives the same id.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/status.h"

namespace steward::serving {

// Longest user id accepted, in bytes. Default: 256.
inline constexpr size_t kMaxUserIdBytes = 256;

// Canonical non-negative decimal integers below 2^63 ("0", "42"; not "042", "+1", "-1", " 1") map to
// themselves; every other string maps to its 64-bit FNV-1a hash with the sign bit set (a negative
// number), so numeric ids and hashed ids never collide.
int64_t InternalUserId(std::string_view user_key);

// Errors: kInvalidArgument naming `field` when the id is empty, longer than kMaxUserIdBytes, not
// valid UTF-8, or contains control characters.
Status ValidateUserId(std::string_view user_key, std::string_view field = "user_id");

}  // namespace steward::serving

#include "experiment/hashing.h"

#include <charconv>

namespace steward::experiment {
namespace {

constexpr uint32_t kFnvOffset = 0x811c9dc5u;
constexpr uint32_t kFnvPrime = 0x01000193u;

inline uint32_t Step(uint32_t h, uint32_t unit) { return (h ^ unit) * kFnvPrime; }

// Feeds the UTF-16 code units of UTF-8 `s` into the hash.
uint32_t FeedUtf16(uint32_t h, std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      h = Step(h, c);
      ++i;
      continue;
    }
    uint32_t cp = 0xFFFD;
    size_t len = 1;
    auto cont = [&](size_t k) { return i + k < n && (p[i + k] & 0xC0) == 0x80; };
    if ((c & 0xE0) == 0xC0 && cont(1)) {
      cp = ((c & 0x1Fu) << 6) | (p[i + 1] & 0x3Fu);
      len = 2;
      if (cp < 0x80) cp = 0xFFFD;
    } else if ((c & 0xF0) == 0xE0 && cont(1) && cont(2)) {
      cp = ((c & 0x0Fu) << 12) | ((p[i + 1] & 0x3Fu) << 6) | (p[i + 2] & 0x3Fu);
      len = 3;
      if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
    } else if ((c & 0xF8) == 0xF0 && cont(1) && cont(2) && cont(3)) {
      cp = ((c & 0x07u) << 18) | ((p[i + 1] & 0x3Fu) << 12) | ((p[i + 2] & 0x3Fu) << 6) | (p[i + 3] & 0x3Fu);
      len = 4;
      if (cp < 0x10000 || cp > 0x10FFFF) cp = 0xFFFD;
    }
    if (cp >= 0x10000) {
      const uint32_t v = cp - 0x10000;
      h = Step(h, 0xD800 + (v >> 10));
      h = Step(h, 0xDC00 + (v & 0x3FF));
    } else {
      h = Step(h, cp);
    }
    i += len;
  }
  return h;
}

}  // namespace

uint32_t Fnv1a32(std::string_view a, std::string_view b) { return FeedUtf16(FeedUtf16(kFnvOffset, a), b); }

std::optional<double> GrowthBookHash(std::string_view seed, std::string_view value, int version) {
  if (version == 2) {
    char digits[16];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, Fnv1a32(seed, value));
    (void)ec;  // a uint32 always fits in 16 characters
    return static_cast<double>(Fnv1a32(std::string_view(digits, static_cast<size_t>(end - digits))) % 10000u) / 10000.0;
  }
  if (version == 1) return static_cast<double>(Fnv1a32(value, seed) % 1000u) / 1000.0;
  return std::nullopt;
}

std::vector<double> EqualWeights(int n) {
  if (n <= 0) return {};
  return std::vector<double>(static_cast<size_t>(n), 1.0 / n);
}

std::vector<BucketRange> BucketRanges(int n, double coverage, std::span<const double> weights) {
  if (coverage < 0.0) coverage = 0.0;
  if (coverage > 1.0) coverage = 1.0;
  std::vector<double> w(weights.begin(), weights.end());
  if (w.size() != static_cast<size_t>(n < 0 ? 0 : n)) w = EqualWeights(n);
  double total = 0.0;
  for (double x : w) total += x;
  if (total < 0.99 || total > 1.01) w = EqualWeights(n);
  std::vector<BucketRange> ranges;
  ranges.reserve(w.size());
  double cumulative = 0.0;
  for (double x : w) {
    const double start = cumulative;
    cumulative += x;
    ranges.emplace_back(start, start + coverage * x);
  }
  return ranges;
}

int ChooseVariation(double h, std::span<const BucketRange> ranges) {
  for (size_t i = 0; i < ranges.size(); ++i) {
    if (h >= ranges[i].first && h < ranges[i].second) return static_cast<int>(i);
  }
  return -1;
}

bool InNamespace(std::string_view id, std::string_view name, double start, double end) {
  // hash("__" + name, id, 1) = (fnv(id + "__" + name) % 1000) / 1000, fed without concatenating.
  uint32_t h = FeedUtf16(kFnvOffset, id);
  h = FeedUtf16(h, "__");
  h = FeedUtf16(h, name);
  const double n = static_cast<double>(h % 1000u) / 1000.0;
  return n >= start && n < end;
}

}  // namespace steward::experiment

#include "common/text.h"

#include <cctype>
#include <cstdio>

namespace steward {

std::optional<size_t> FindInvalidUtf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte (Unicode table 3-7)
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // no overlong forms
      if (c == 0xED) hi = 0x9F;  // no UTF-16 surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // no overlong forms
      if (c == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
    } else {
      return i;
    }
    if (i + len > n) return i;
    if (s[i + 1] < lo || s[i + 1] > hi) return i;
    for (size_t k = 2; k < len; ++k) {
      if (s[i + k] < 0x80 || s[i + k] > 0xBF) return i;
    }
    i += len;
  }
  return std::nullopt;
}

Status CheckText(std::string_view text, const std::string& what) {
  if (auto bad = FindInvalidUtf8(text)) {
    char byte[8];
    std::snprintf(byte, sizeof byte, "0x%02x", static_cast<unsigned>(static_cast<unsigned char>(text[*bad])));
    return InvalidArgument(what + ": not valid UTF-8 text (byte " + byte + " at offset " + std::to_string(*bad) +
                           "); fix: write it as UTF-8 (e.g. convert with `iconv -t UTF-8`)");
  }
  if (const size_t nul = text.find('\0'); nul != std::string_view::npos) {
    return InvalidArgument(what + ": contains a NUL byte at offset " + std::to_string(nul) +
                           "; fix: remove it (text fields cannot contain NUL)");
  }
  return Status::Ok();
}

Status CheckLine(std::string_view text, const std::string& what) {
  RETURN_IF_ERROR(CheckText(text, what));
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7F) {
      return InvalidArgument(what + ": contains a control character (byte " + std::to_string(c) + " at offset " +
                             std::to_string(i) + "); fix: write it on one line without control characters");
    }
  }
  return Status::Ok();
}

std::string SanitizeLine(std::string_view text) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    const auto bad = FindInvalidUtf8(text);
    const size_t good = bad ? *bad : text.size();
    for (size_t i = 0; i < good; ++i) {
      const auto c = static_cast<unsigned char>(text[i]);
      if (c < 0x20 || c == 0x7F) {
        out += kReplacement;
      } else {
        out.push_back(text[i]);
      }
    }
    if (!bad) break;
    out += kReplacement;
    text.remove_prefix(good + 1);
  }
  return out;
}

std::string FileSlug(const std::string& name) {
  std::string out;
  for (char c : name) out += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ? c : '_';
  return out.empty() ? "experiment" : out;
}

std::string HtmlEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace steward

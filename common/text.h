// Text validation at input boundaries: everything Steward reads from a user (command-line
// arguments, experiment and blocklist files, users files, CSV fields) is UTF-8 text. Bytes that are
// not are rejected where they enter, with an error naming the field and the position, so that no
// later step (JSON output, the audit log, SQLite) ever sees them.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace steward {

// Offset of the first byte that does not start or continue a well-formed UTF-8 sequence (RFC 3629:
// no overlong forms, no surrogates, nothing above U+10FFFF), or nullopt when `text` is valid.
std::optional<size_t> FindInvalidUtf8(std::string_view text);
inline bool IsValidUtf8(std::string_view text) { return !FindInvalidUtf8(text).has_value(); }

// Ok when `text` is valid UTF-8 without NUL bytes; otherwise an InvalidArgument
// "<what>: not valid UTF-8 text (byte 0xff at offset 3); fix: ..." naming the first bad byte.
Status CheckText(std::string_view text, const std::string& what);

// CheckText, and no control characters (C0, DEL): for one-line fields people read in logs and
// terminals (an actor, a reason), where an escape sequence could disguise what a row says.
Status CheckLine(std::string_view text, const std::string& what);

// `text` with every byte that is not valid UTF-8 and every control character replaced by U+FFFD:
// for emergency actions, which are recorded with a sanitised reason rather than refused.
std::string SanitizeLine(std::string_view text);

// For report files: a file-name-safe form of a name (letters, digits, '-', '_'; others become
// '_'; "experiment" when empty), and text escaped for HTML (< > & ").
std::string FileSlug(const std::string& name);
std::string HtmlEscape(const std::string& text);

}  // namespace steward

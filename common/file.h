// Bounded file input. Every file Steward reads on a user's say-so goes through these checks, so a
// small argument cannot make it read forever or fill memory: /dev/zero, a FIFO or a directory is
// refused (only regular files are read), and each kind of file has a documented size limit
// (docs/security.md). Files are read with the bound, so a file that grows while being read cannot
// exceed it either.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace steward {

// Limits (bytes). Experiment definitions and blocklists are small hand-written files.
inline constexpr int64_t kMaxConfigFileBytes = 1 << 20;             // 1 MiB
inline constexpr int64_t kMaxUsersFileBytes = int64_t{256} << 20;   // 256 MiB (about 10M user ids)
inline constexpr int64_t kMaxCsvFileBytes = int64_t{4} << 30;       // 4 GiB (bundled data: < 100 MiB)
inline constexpr int64_t kMaxCsvRecordBytes = 1 << 20;              // 1 MiB per CSV record (row)

// Ok when `path` names a regular file of at most `max_bytes` bytes. Errors: kNotFound when it does
// not exist, kInvalidArgument when it is not a regular file or is too large; `what` names the flag
// or role of the file in messages ("--users", "experiment file").
Status CheckRegularFile(const std::string& path, int64_t max_bytes, const std::string& what);

// CheckRegularFile, then the whole file (read with the bound: a file grown past it since the check
// is an error, not a longer read).
StatusOr<std::string> ReadFileBounded(const std::string& path, int64_t max_bytes, const std::string& what);

// Report output (`--out DIR` of report commands): creates `dir` (and its parents) when missing.
// Errors: kIoError naming the directory.
Status CreateOutputDirectory(const std::string& dir);
// Writes `text` to `dir`/`file`, replacing it. Errors: kIoError naming the file.
Status WriteTextFile(const std::string& dir, const std::string& file, const std::string& text);

}  // namespace steward

#include "common/file.h"

#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <cstdio>
#include <cstring>
#include <memory>

namespace steward {
namespace {

std::string Mib(int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f MiB", static_cast<double>(bytes) / (1 << 20));
  return buf;
}

}  // namespace

Status CheckRegularFile(const std::string& path, int64_t max_bytes, const std::string& what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return NotFound(path + ": no such file (" + what + "); check the path");
    return NotFound(path + ": cannot open (" + what + "): " + std::strerror(errno) + "; check the path and permissions");
  }
  if (!S_ISREG(st.st_mode)) {
    return InvalidArgument(path + ": " + what + " must be a regular file (this is a " +
                           (S_ISDIR(st.st_mode) ? "directory" : S_ISFIFO(st.st_mode) ? "pipe" : "device or special file") +
                           "); fix: save the content to a file and pass its path");
  }
  if (st.st_size > max_bytes) {
    return InvalidArgument(path + ": " + what + " is " + std::to_string(st.st_size) + " bytes, more than the limit of " +
                           std::to_string(max_bytes) + " (" + Mib(max_bytes) + "); fix: split it or check the path");
  }
  return Status::Ok();
}

StatusOr<std::string> ReadFileBounded(const std::string& path, int64_t max_bytes, const std::string& what) {
  RETURN_IF_ERROR(CheckRegularFile(path, max_bytes, what));
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> fp(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!fp) return NotFound(path + ": cannot open (" + what + "): " + std::strerror(errno) + "; check the permissions");
  std::string text;
  char buf[1 << 16];
  while (true) {
    const size_t got = std::fread(buf, 1, sizeof buf, fp.get());
    if (got == 0) break;
    if (static_cast<int64_t>(text.size() + got) > max_bytes) {
      return InvalidArgument(path + ": " + what + " grew past the limit of " + std::to_string(max_bytes) +
                             " bytes while being read; fix: pass a file that is not being written");
    }
    text.append(buf, got);
  }
  if (std::ferror(fp.get())) return IoError(path + ": read error (" + what + ")");
  return text;
}

Status CreateOutputDirectory(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return IoError("--out " + dir + ": cannot create the directory (" + ec.message() + ")");
  return Status::Ok();
}

Status WriteTextFile(const std::string& dir, const std::string& file, const std::string& text) {
  std::ofstream out(dir + "/" + file);
  out << text;
  out.close();
  if (!out) return IoError(dir + "/" + file + ": cannot write; check the directory's permissions and free space");
  return Status::Ok();
}

}  // namespace steward

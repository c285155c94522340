#include "cloister/core/private_files.h"

#include "cloister/core/ids.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace cloister {
namespace {

std::string errno_text() { return std::strerror(errno); }

struct FileDescriptor {
  int fd = -1;
  FileDescriptor() = default;
  explicit FileDescriptor(int value) : fd(value) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd >= 0) ::close(fd);
  }
};

Status write_all(int fd, std::string_view content, const std::filesystem::path& path) {
  std::size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(ErrorCode::io_error, "cannot write " + path.string() + ": " + errno_text());
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) return fail(ErrorCode::io_error, "cannot sync " + path.string() + ": " + errno_text());
  return {};
}

// A synced temporary file beside `path`.
Result<std::filesystem::path> write_temporary(const std::filesystem::path& path, std::string_view content) {
  const std::filesystem::path temporary = path.string() + ".tmp-" + new_request_id();
  FileDescriptor file(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (file.fd < 0) return fail(ErrorCode::io_error, "cannot create " + temporary.string() + ": " + errno_text());
  ::fchmod(file.fd, 0600);
  if (auto written = write_all(file.fd, content, temporary); !written) {
    ::unlink(temporary.c_str());
    return std::unexpected(written.error());
  }
  return temporary;
}

// The rename is durable only once the directory entry is synced.
void sync_directory(const std::filesystem::path& path) {
  const auto directory = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  FileDescriptor dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.fd >= 0) ::fsync(dir.fd);
}

}  // namespace

Status ensure_private_directory(const std::filesystem::path& directory) {
  std::error_code error;
  if (!std::filesystem::exists(directory, error)) {
    if (directory.has_parent_path()) std::filesystem::create_directories(directory.parent_path(), error);
    if (::mkdir(directory.c_str(), 0700) != 0 && errno != EEXIST) {
      return fail(ErrorCode::io_error, "cannot create " + directory.string() + ": " + errno_text());
    }
  }
  struct stat info {};
  if (::stat(directory.c_str(), &info) != 0) {
    return fail(ErrorCode::io_error, "cannot stat " + directory.string() + ": " + errno_text());
  }
  if (!S_ISDIR(info.st_mode)) return fail(ErrorCode::config_invalid, directory.string() + " is not a directory");
  if ((info.st_mode & 077) != 0) {
    return fail(ErrorCode::config_invalid, directory.string() + " is accessible by group or others (want 0700)");
  }
  return {};
}

Status write_private_file(const std::filesystem::path& path, std::string_view content) {
  auto temporary = write_temporary(path, content);
  if (!temporary) return std::unexpected(temporary.error());
  if (::rename(temporary->c_str(), path.c_str()) != 0) {
    ::unlink(temporary->c_str());
    return fail(ErrorCode::io_error, "cannot rename to " + path.string() + ": " + errno_text());
  }
  sync_directory(path);
  return {};
}

Status create_private_file(const std::filesystem::path& path, std::string_view content) {
  auto temporary = write_temporary(path, content);
  if (!temporary) return std::unexpected(temporary.error());
  // link(2) fails with EEXIST instead of replacing: two writers cannot both create one version.
  const int linked = ::link(temporary->c_str(), path.c_str());
  const int link_errno = errno;
  ::unlink(temporary->c_str());
  if (linked != 0) {
    if (link_errno == EEXIST) return fail(ErrorCode::conflict, path.filename().string() + " already exists");
    return fail(ErrorCode::io_error, "cannot create " + path.string() + ": " + std::strerror(link_errno));
  }
  sync_directory(path);
  return {};
}

Status append_private_line(const std::filesystem::path& path, std::string_view line) {
  FileDescriptor file(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (file.fd < 0) return fail(ErrorCode::io_error, "cannot open " + path.string() + ": " + errno_text());
  std::string text(line);
  text.push_back('\n');
  return write_all(file.fd, text, path);
}

Result<std::string> read_file(const std::filesystem::path& path, std::size_t max_size) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorCode::io_error, "cannot open " + path.string());
  std::string content;
  char buffer[4096];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    content.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (content.size() > max_size) return fail(ErrorCode::io_error, path.string() + " is larger than expected");
  }
  if (in.bad()) return fail(ErrorCode::io_error, "cannot read " + path.string());
  return content;
}

Status check_private_mode(const std::filesystem::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    return fail(ErrorCode::io_error, "cannot stat " + path.string() + ": " + errno_text());
  }
  if ((info.st_mode & 077) != 0) {
    return fail(ErrorCode::config_invalid, path.string() + " is accessible by group or others (want 0600)");
  }
  return {};
}

}  // namespace cloister

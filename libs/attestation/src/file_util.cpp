#include "file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

#include "cloister/crypto/random.h"

namespace cloister::attestation::detail {
namespace {

std::string errno_text() { return std::strerror(errno); }

// Closes a descriptor on scope exit.
struct FileDescriptor {
  int fd = -1;
  ~FileDescriptor() {
    if (fd >= 0) ::close(fd);
  }
};

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
  const std::filesystem::path temporary = path.string() + ".tmp-" + crypto::random_hex(8);
  FileDescriptor file;
  file.fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (file.fd < 0) return fail(ErrorCode::io_error, "cannot create " + temporary.string() + ": " + errno_text());
  // The umask cannot widen 0600, but make the mode explicit anyway.
  ::fchmod(file.fd, 0600);
  std::size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(file.fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::unlink(temporary.c_str());
      return fail(ErrorCode::io_error, "cannot write " + temporary.string() + ": " + errno_text());
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(file.fd) != 0) {
    ::unlink(temporary.c_str());
    return fail(ErrorCode::io_error, "cannot sync " + temporary.string() + ": " + errno_text());
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    ::unlink(temporary.c_str());
    return fail(ErrorCode::io_error, "cannot rename to " + path.string() + ": " + errno_text());
  }
  return {};
}

Result<std::string> read_file(const std::filesystem::path& path, std::size_t max_size) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorCode::io_error, "cannot open " + path.string());
  std::string content;
  char buffer[4096];
  while (in) {
    in.read(buffer, sizeof buffer);
    content.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (content.size() > max_size) return fail(ErrorCode::io_error, path.string() + " is too large");
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

}  // namespace cloister::attestation::detail

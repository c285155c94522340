#pragma once
// Files that hold keys or service state (signing keys, policies, admin credentials, collateral):
// owner-only modes, atomic writes (temporary file, fsync, rename, fsync of the directory), bounded reads.

#include "cloister/core/error.h"

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace cloister {

// Creates `directory` (and parents) with mode 0700 when absent; config_invalid when it exists and is
// accessible by group or others or is not a directory; io_error on failure.
Status ensure_private_directory(const std::filesystem::path& directory);

// Replaces `path` atomically with `content` (mode 0600). io_error on failure.
Status write_private_file(const std::filesystem::path& path, std::string_view content);

// Creates `path` atomically with `content` (mode 0600), never replacing an existing file: conflict
// when it exists. Readers never see a partial file.
Status create_private_file(const std::filesystem::path& path, std::string_view content);

// Appends one line (with '\n') to `path` (created 0600) and syncs it.
Status append_private_line(const std::filesystem::path& path, std::string_view line);

// Reads at most max_size bytes: io_error when unreadable or larger.
Result<std::string> read_file(const std::filesystem::path& path, std::size_t max_size);

// config_invalid when the file is accessible by group or others; io_error when it cannot be stat'ed.
Status check_private_mode(const std::filesystem::path& path);

}  // namespace cloister

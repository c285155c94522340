#pragma once
// Private helpers for files that hold keys: owner-only modes, atomic writes, bounded reads.

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "cloister/core/error.h"

namespace cloister::attestation::detail {

// Creates `directory` (and parents) with mode 0700 when absent; io_error on failure;
// config_invalid when it exists and is accessible by group or others.
Status ensure_private_directory(const std::filesystem::path& directory);
// Writes `content` to a temporary file (mode 0600) beside `path`, fsyncs it and renames it over
// `path`. io_error on failure.
Status write_private_file(const std::filesystem::path& path, std::string_view content);
// Reads at most `max_size` bytes (io_error when larger or unreadable).
Result<std::string> read_file(const std::filesystem::path& path, std::size_t max_size);
// config_invalid when the file is accessible by group or others.
Status check_private_mode(const std::filesystem::path& path);

}  // namespace cloister::attestation::detail

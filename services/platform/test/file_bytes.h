#pragma once
// For the "nothing in clear on disk" checks of the platform's stores: the bytes of a file, and of
// every file under a directory (the database, its WAL and shared-memory files).

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace cloister::platform::test_support {

inline std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline std::string all_file_bytes(const std::filesystem::path& directory) {
  std::string bytes;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(directory)) {
    if (entry.is_regular_file()) bytes += read_all(entry.path());
  }
  return bytes;
}

}  // namespace cloister::platform::test_support

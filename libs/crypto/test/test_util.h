#pragma once
// Helpers shared by the crypto tests.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "cloister/crypto/bytes.h"
#include "cloister/crypto/hash.h"

namespace cloister::crypto::test {

// Hex → bytes for test vectors (aborts the test on a typo).
inline Bytes from_hex(std::string_view hex) {
  auto bytes = hex_decode(hex);
  EXPECT_TRUE(bytes.has_value()) << "bad hex in test vector";
  return bytes.value_or(Bytes{});
}

inline Bytes repeat(std::uint8_t value, std::size_t count) { return Bytes(count, value); }

inline Bytes sequence(std::uint8_t first, std::uint8_t last) {
  Bytes out;
  for (int value = first; value <= last; ++value) out.push_back(static_cast<std::uint8_t>(value));
  return out;
}

// A file from the shared vectors folder (../shared relative to the repository root, where tests run).
inline std::optional<std::string> read_shared_file(const std::string& relative) {
  std::filesystem::path path = std::filesystem::path("..") / "shared" / relative;
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

}  // namespace cloister::crypto::test

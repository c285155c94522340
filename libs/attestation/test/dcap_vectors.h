#pragma once
// Access to the real DCAP test vectors under ../shared/vectors (tests run with the repository root
// as working directory; /work/shared/vectors/MANIFEST.md describes every file and its expected
// outcome). Tests skip, saying why, when the vectors are absent.

#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "cloister/core/clock.h"
#include "cloister/crypto/bytes.h"
#include "formats/dcap/dcap_util.h"

namespace cloister::attestation::test::dcap_vectors {
// (A namespace of their own: other tests have helpers of the same names.)

inline const std::filesystem::path kVectorRoot = "../shared/vectors";

inline std::filesystem::path vector_path(const std::string& relative) { return kVectorRoot / relative; }

inline bool have_vectors(const std::vector<std::string>& relatives) {
  for (const auto& relative : relatives) {
    if (!std::filesystem::exists(vector_path(relative))) return false;
  }
  return true;
}

inline crypto::Bytes read_vector(const std::string& relative) {
  std::ifstream in(vector_path(relative), std::ios::binary);
  return crypto::Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline std::vector<std::filesystem::path> vector_paths(const std::vector<std::string>& relatives) {
  std::vector<std::filesystem::path> out;
  for (const auto& relative : relatives) out.push_back(vector_path(relative));
  return out;
}

// Unix seconds of a "YYYY-MM-DDTHH:MM:SSZ" instant (throws on a typo in a test).
inline std::int64_t at(const std::string& text) {
  auto parsed = dcap::detail::parse_pcs_time(text);
  if (!parsed) throw std::invalid_argument("bad test timestamp " + text);
  return *parsed;
}

}  // namespace cloister::attestation::test::dcap_vectors

// Skips the test when a vector file is missing (the shared vectors are not part of the repository).
#define SKIP_WITHOUT_VECTORS(...)                                                                                 \
  do {                                                                                                            \
    if (!::cloister::attestation::test::dcap_vectors::have_vectors({__VA_ARGS__})) {                              \
      GTEST_SKIP() << "test vectors not found under " << ::cloister::attestation::test::dcap_vectors::kVectorRoot \
                   << " (see /work/shared/vectors/MANIFEST.md)";                                                  \
    }                                                                                                             \
  } while (false)

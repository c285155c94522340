#pragma once
// Byte strings used across the crypto API.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cloister::crypto {

using Bytes = std::vector<std::uint8_t>;
using BytesView = std::span<const std::uint8_t>;

inline BytesView as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}
inline Bytes to_bytes(std::string_view text) { return Bytes(text.begin(), text.end()); }
inline std::string to_string(BytesView bytes) { return std::string(bytes.begin(), bytes.end()); }
inline Bytes concat(BytesView a, BytesView b) {
  Bytes out(a.begin(), a.end());
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

// Constant-time comparison (CRYPTO_memcmp); false when sizes differ.
bool equal_constant_time(BytesView a, BytesView b);

// Overwrites memory so the compiler cannot elide it (OPENSSL_cleanse).
void cleanse(Bytes& bytes);

}  // namespace cloister::crypto

#pragma once
// Private: untrusted text made safe for an error detail (logs render details as JSON, which needs
// valid UTF-8): printable ASCII only, bounded length.

#include <cstddef>
#include <string>
#include <string_view>

namespace cloister::attestation::detail {

inline std::string safe_text(std::string_view text, std::size_t max_size = 32) {
  std::string out;
  for (char c : text.substr(0, max_size)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  if (text.size() > max_size) out += "...";
  return out;
}

}  // namespace cloister::attestation::detail

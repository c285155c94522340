#include "cloister/core/ids.h"

#include <random>

namespace cloister {

std::string new_request_id() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  auto value = generator();
  std::string id(16, '0');
  for (int i = 15; i >= 0; --i) {
    id[static_cast<std::size_t>(i)] = kHex[value & 0xf];
    value >>= 4;
  }
  return id;
}

}  // namespace cloister

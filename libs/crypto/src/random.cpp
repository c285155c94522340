#include "cloister/crypto/random.h"

#include <openssl/rand.h>

#include <stdexcept>

#include "cloister/crypto/hash.h"

namespace cloister::crypto {

Bytes random_bytes(std::size_t count) {
  Bytes out(count);
  if (count != 0 && RAND_bytes(out.data(), static_cast<int>(count)) != 1) {
    // A CSPRNG failure is not recoverable input error: the process cannot continue safely.
    throw std::runtime_error("RAND_bytes failed");
  }
  return out;
}

std::string random_hex(std::size_t count) { return hex_encode(random_bytes(count)); }

}  // namespace cloister::crypto

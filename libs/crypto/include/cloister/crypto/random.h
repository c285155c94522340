#pragma once
// CSPRNG (OpenSSL RAND_bytes, seeded by the OS).

#include "cloister/crypto/bytes.h"

namespace cloister::crypto {

Bytes random_bytes(std::size_t count);
// count random bytes as lower-case hex (2*count characters), e.g. for jti and nonces.
std::string random_hex(std::size_t count);

}  // namespace cloister::crypto

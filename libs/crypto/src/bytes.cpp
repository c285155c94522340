#include "cloister/crypto/bytes.h"

#include <openssl/crypto.h>

namespace cloister::crypto {

bool equal_constant_time(BytesView a, BytesView b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void cleanse(Bytes& bytes) {
  if (!bytes.empty()) OPENSSL_cleanse(bytes.data(), bytes.size());
}

}  // namespace cloister::crypto

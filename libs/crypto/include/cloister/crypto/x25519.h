#pragma once
// X25519 (RFC 7748) with raw 32-byte keys, as HPKE and JWK (OKP) use them.

#include "cloister/core/error.h"
#include "cloister/core/sensitive.h"
#include "cloister/crypto/bytes.h"

namespace cloister::crypto {

struct X25519KeyPair {
  Sensitive<Bytes> private_key;  // 32 bytes
  Bytes public_key;              // 32 bytes
};

X25519KeyPair x25519_generate();
// Public key from a raw private key (fails with bad_key unless 32 bytes).
Result<X25519KeyPair> x25519_from_private(BytesView private_key);
// Shared secret; fails with bad_key on wrong sizes and crypto_failure on an all-zero result.
Result<Bytes> x25519(BytesView private_key, BytesView peer_public_key);

}  // namespace cloister::crypto

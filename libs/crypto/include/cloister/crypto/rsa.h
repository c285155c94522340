#pragma once
// RSA signatures: RSASSA-PSS (MGF1 with the same hash) and RSASSA-PKCS1-v1_5.

#include "cloister/core/error.h"
#include "cloister/crypto/bytes.h"
#include "cloister/crypto/hash.h"
#include "cloister/crypto/keys.h"

namespace cloister::crypto {

// salt_length: -1 = the digest length (RFC 7518 PS256 and AMD SEV); otherwise that many bytes.
// signature_invalid on mismatch; bad_key unless the key is RSA.
Status rsa_pss_verify(const PublicKey& key, HashAlgorithm hash, BytesView message, BytesView signature,
                      int salt_length = -1);
Status rsa_pkcs1_verify(const PublicKey& key, HashAlgorithm hash, BytesView message, BytesView signature);
// PSS with a digest-length salt (what PS256/PS384 need).
Result<Bytes> rsa_pss_sign(const PrivateKey& key, HashAlgorithm hash, BytesView message);

}  // namespace cloister::crypto

#pragma once
// ECDSA over P-256 / P-384 (DER signatures, as X.509 and OpenSSL use them) and conversion to and
// from the raw r ‖ s form that JOSE (RFC 7518 §3.4) and SGX/SEV reports use.

#include <cstddef>

#include "cloister/core/error.h"
#include "cloister/crypto/bytes.h"
#include "cloister/crypto/hash.h"
#include "cloister/crypto/keys.h"

namespace cloister::crypto {

// DER-encoded ECDSA-Sig-Value. bad_key unless the key is EC.
Result<Bytes> ecdsa_sign(const PrivateKey& key, HashAlgorithm hash, BytesView message);
// signature_invalid on mismatch or a malformed signature; bad_key unless the key is EC.
Status ecdsa_verify(const PublicKey& key, HashAlgorithm hash, BytesView message, BytesView der_signature);

// DER → r ‖ s, each left-padded to component_size (32 for P-256, 48 for P-384). bad_encoding on
// malformed / non-canonical DER, trailing bytes, negative values or components that do not fit.
Result<Bytes> ecdsa_der_to_raw(BytesView der, std::size_t component_size);
// r ‖ s (two equal halves) → DER. bad_encoding on empty or odd-length input.
Result<Bytes> ecdsa_raw_to_der(BytesView raw);

}  // namespace cloister::crypto

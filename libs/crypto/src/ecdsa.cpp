#include "cloister/crypto/ecdsa.h"

#include <openssl/ec.h>

#include <algorithm>

#include "openssl_util.h"
#include "signature.h"

namespace cloister::crypto {
namespace {

using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)>;

bool is_ec(std::optional<KeyType> type) { return type == KeyType::ec_p256 || type == KeyType::ec_p384; }

}  // namespace

Result<Bytes> ecdsa_sign(const PrivateKey& key, HashAlgorithm hash, BytesView message) {
  if (!is_ec(key.type())) return fail(ErrorCode::bad_key, "ECDSA needs an EC key");
  return detail::digest_sign(key.native(), hash, message, std::nullopt);
}

Status ecdsa_verify(const PublicKey& key, HashAlgorithm hash, BytesView message, BytesView der_signature) {
  if (!is_ec(key.try_type())) return fail(ErrorCode::bad_key, "ECDSA needs an EC key");
  return detail::digest_verify(key.native(), hash, message, der_signature, std::nullopt);
}

Result<Bytes> ecdsa_der_to_raw(BytesView der, std::size_t component_size) {
  if (component_size == 0 || component_size > 66) return fail(ErrorCode::invalid_argument, "bad component size");
  if (der.empty() || der.size() > 256) return fail(ErrorCode::bad_encoding, "ECDSA DER signature size out of range");
  const unsigned char* cursor = der.data();
  EcdsaSigPtr signature(d2i_ECDSA_SIG(nullptr, &cursor, static_cast<long>(der.size())), &ECDSA_SIG_free);
  if (!signature) {
    ERR_clear_error();
    return fail(ErrorCode::bad_encoding, "malformed ECDSA DER signature");
  }
  if (cursor != der.data() + der.size()) return fail(ErrorCode::bad_encoding, "trailing bytes after ECDSA signature");
  // Only the canonical (DER, not BER) encoding is accepted.
  unsigned char* reencoded = nullptr;
  int length = i2d_ECDSA_SIG(signature.get(), &reencoded);
  bool canonical = length == static_cast<int>(der.size()) && std::equal(der.begin(), der.end(), reencoded);
  OPENSSL_free(reencoded);
  if (!canonical) return fail(ErrorCode::bad_encoding, "ECDSA signature is not canonical DER");
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(signature.get(), &r, &s);
  if (BN_is_negative(r) || BN_is_negative(s)) return fail(ErrorCode::bad_encoding, "negative ECDSA component");
  Bytes raw(2 * component_size);
  if (BN_bn2binpad(r, raw.data(), static_cast<int>(component_size)) < 0 ||
      BN_bn2binpad(s, raw.data() + component_size, static_cast<int>(component_size)) < 0) {
    return fail(ErrorCode::bad_encoding, "ECDSA component larger than the curve order");
  }
  return raw;
}

Result<Bytes> ecdsa_raw_to_der(BytesView raw) {
  if (raw.empty() || raw.size() % 2 != 0 || raw.size() > 2 * 66) {
    return fail(ErrorCode::bad_encoding, "raw ECDSA signature must be two equal non-empty halves");
  }
  const std::size_t half = raw.size() / 2;
  EcdsaSigPtr signature(ECDSA_SIG_new(), &ECDSA_SIG_free);
  BIGNUM* r = BN_bin2bn(raw.data(), static_cast<int>(half), nullptr);
  BIGNUM* s = BN_bin2bn(raw.data() + half, static_cast<int>(half), nullptr);
  if (!signature || r == nullptr || s == nullptr || ECDSA_SIG_set0(signature.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return fail(ErrorCode::crypto_failure, "ECDSA_SIG construction failed");
  }
  unsigned char* der = nullptr;
  int length = i2d_ECDSA_SIG(signature.get(), &der);
  if (length <= 0) return fail(ErrorCode::crypto_failure, "i2d_ECDSA_SIG failed");
  Bytes out(der, der + length);
  OPENSSL_free(der);
  return out;
}

}  // namespace cloister::crypto

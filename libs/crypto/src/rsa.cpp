#include "cloister/crypto/rsa.h"

#include <openssl/rsa.h>

#include "openssl_util.h"
#include "signature.h"

namespace cloister::crypto {

Status rsa_pss_verify(const PublicKey& key, HashAlgorithm hash, BytesView message, BytesView signature,
                      int salt_length) {
  if (key.try_type() != KeyType::rsa) return fail(ErrorCode::bad_key, "RSA-PSS needs an RSA key");
  if (salt_length < -1) return fail(ErrorCode::invalid_argument, "bad PSS salt length");
  const int salt = salt_length == -1 ? RSA_PSS_SALTLEN_DIGEST : salt_length;
  return detail::digest_verify(key.native(), hash, message, signature,
                               detail::RsaPadding{RSA_PKCS1_PSS_PADDING, salt});
}

Status rsa_pkcs1_verify(const PublicKey& key, HashAlgorithm hash, BytesView message, BytesView signature) {
  if (key.try_type() != KeyType::rsa || EVP_PKEY_is_a(static_cast<EVP_PKEY*>(key.native()), "RSA-PSS")) {
    return fail(ErrorCode::bad_key, "RSASSA-PKCS1-v1_5 needs an (unrestricted) RSA key");
  }
  return detail::digest_verify(key.native(), hash, message, signature, detail::RsaPadding{RSA_PKCS1_PADDING, 0});
}

Result<Bytes> rsa_pss_sign(const PrivateKey& key, HashAlgorithm hash, BytesView message) {
  if (key.type() != KeyType::rsa) return fail(ErrorCode::bad_key, "RSA-PSS needs an RSA key");
  return detail::digest_sign(key.native(), hash, message,
                             detail::RsaPadding{RSA_PKCS1_PSS_PADDING, RSA_PSS_SALTLEN_DIGEST});
}

}  // namespace cloister::crypto

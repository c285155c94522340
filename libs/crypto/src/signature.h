#pragma once
// Private: one-shot EVP_DigestSign / EVP_DigestVerify with optional RSA padding settings.

#include <optional>

#include "cloister/core/error.h"
#include "cloister/crypto/bytes.h"
#include "cloister/crypto/hash.h"

namespace cloister::crypto::detail {

struct RsaPadding {
  int padding;           // RSA_PKCS1_PADDING or RSA_PKCS1_PSS_PADDING
  int salt_length = 0;   // PSS only (RSA_PSS_SALTLEN_DIGEST or a byte count)
};

Result<Bytes> digest_sign(void* evp_pkey, HashAlgorithm hash, BytesView message, std::optional<RsaPadding> rsa);
// signature_invalid when the signature does not verify.
Status digest_verify(void* evp_pkey, HashAlgorithm hash, BytesView message, BytesView signature,
                     std::optional<RsaPadding> rsa);

}  // namespace cloister::crypto::detail

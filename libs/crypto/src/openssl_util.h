#pragma once
// Private helpers: RAII aliases for OpenSSL objects and error-queue formatting.

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

#include "cloister/core/error.h"
#include "cloister/crypto/hash.h"

namespace cloister::crypto::detail {

using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;
using EvpCipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;
using EvpMacPtr = std::unique_ptr<EVP_MAC, decltype(&EVP_MAC_free)>;
using EvpMacCtxPtr = std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)>;
using EvpKdfPtr = std::unique_ptr<EVP_KDF, decltype(&EVP_KDF_free)>;
using EvpKdfCtxPtr = std::unique_ptr<EVP_KDF_CTX, decltype(&EVP_KDF_CTX_free)>;
using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;
using BnPtr = std::unique_ptr<BIGNUM, decltype(&BN_free)>;
using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using X509CrlPtr = std::unique_ptr<X509_CRL, decltype(&X509_CRL_free)>;

inline EvpPkeyPtr make_pkey(EVP_PKEY* key) { return EvpPkeyPtr(key, &EVP_PKEY_free); }
inline EvpPkeyCtxPtr make_pkey_ctx(EVP_PKEY_CTX* ctx) { return EvpPkeyCtxPtr(ctx, &EVP_PKEY_CTX_free); }
inline EvpMdCtxPtr make_md_ctx() { return EvpMdCtxPtr(EVP_MD_CTX_new(), &EVP_MD_CTX_free); }
inline BioPtr make_bio(BIO* bio) { return BioPtr(bio, &BIO_free); }
inline BnPtr make_bn(BIGNUM* bn) { return BnPtr(bn, &BN_free); }

// The name OpenSSL knows the digest by ("SHA256", ...).
const char* digest_name(HashAlgorithm algorithm);
const EVP_MD* evp_md(HashAlgorithm algorithm);

// The most recent OpenSSL error as text (and clears the queue); "unknown" when empty.
std::string openssl_error();

// Read-only memory BIO over a buffer.
inline BioPtr memory_bio(const void* data, std::size_t size) {
  return make_bio(BIO_new_mem_buf(data, static_cast<int>(size)));
}
// Everything written to a memory BIO.
std::string bio_contents(BIO* bio);

}  // namespace cloister::crypto::detail

#include "signature.h"

#include <openssl/rsa.h>

#include "openssl_util.h"

namespace cloister::crypto::detail {
namespace {

bool apply_padding(EVP_PKEY_CTX* context, HashAlgorithm hash, const std::optional<RsaPadding>& rsa) {
  if (!rsa) return true;
  if (EVP_PKEY_CTX_set_rsa_padding(context, rsa->padding) != 1) return false;
  if (rsa->padding == RSA_PKCS1_PSS_PADDING) {
    return EVP_PKEY_CTX_set_rsa_pss_saltlen(context, rsa->salt_length) == 1 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md(context, evp_md(hash)) == 1;
  }
  return true;
}

}  // namespace

Result<Bytes> digest_sign(void* evp_pkey, HashAlgorithm hash, BytesView message, std::optional<RsaPadding> rsa) {
  auto context = make_md_ctx();
  EVP_PKEY_CTX* key_context = nullptr;
  if (!context ||
      EVP_DigestSignInit_ex(context.get(), &key_context, digest_name(hash), nullptr, nullptr,
                            static_cast<EVP_PKEY*>(evp_pkey), nullptr) != 1 ||
      !apply_padding(key_context, hash, rsa)) {
    return fail(ErrorCode::crypto_failure, "signature init failed: " + openssl_error());
  }
  std::size_t size = 0;
  if (EVP_DigestSign(context.get(), nullptr, &size, message.data(), message.size()) != 1) {
    return fail(ErrorCode::crypto_failure, "signature size query failed: " + openssl_error());
  }
  Bytes signature(size);
  if (EVP_DigestSign(context.get(), signature.data(), &size, message.data(), message.size()) != 1) {
    return fail(ErrorCode::crypto_failure, "signing failed: " + openssl_error());
  }
  signature.resize(size);
  return signature;
}

Status digest_verify(void* evp_pkey, HashAlgorithm hash, BytesView message, BytesView signature,
                     std::optional<RsaPadding> rsa) {
  auto context = make_md_ctx();
  EVP_PKEY_CTX* key_context = nullptr;
  if (!context ||
      EVP_DigestVerifyInit_ex(context.get(), &key_context, digest_name(hash), nullptr, nullptr,
                              static_cast<EVP_PKEY*>(evp_pkey), nullptr) != 1 ||
      !apply_padding(key_context, hash, rsa)) {
    return fail(ErrorCode::crypto_failure, "verification init failed: " + openssl_error());
  }
  if (signature.empty()) return fail(ErrorCode::signature_invalid, "empty signature");
  int result = EVP_DigestVerify(context.get(), signature.data(), signature.size(), message.data(), message.size());
  if (result != 1) {
    ERR_clear_error();
    return fail(ErrorCode::signature_invalid, "signature does not verify");
  }
  return {};
}

}  // namespace cloister::crypto::detail

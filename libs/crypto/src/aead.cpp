#include "cloister/crypto/aead.h"

#include <climits>
#include <stdexcept>

#include "openssl_util.h"

namespace cloister::crypto {
namespace {

const EVP_CIPHER* cipher(AeadAlgorithm algorithm) {
  switch (algorithm) {
    case AeadAlgorithm::aes_128_gcm: return EVP_aes_128_gcm();
    case AeadAlgorithm::aes_256_gcm: return EVP_aes_256_gcm();
    case AeadAlgorithm::chacha20_poly1305: return EVP_chacha20_poly1305();
  }
  throw std::invalid_argument("unknown AEAD algorithm");
}

Status check_sizes(AeadAlgorithm algorithm, BytesView key, BytesView nonce) {
  if (key.size() != aead_key_size(algorithm)) return fail(ErrorCode::bad_key, "AEAD key has the wrong size");
  if (nonce.size() != kAeadNonceSize) return fail(ErrorCode::invalid_argument, "AEAD nonce must be 12 bytes");
  return {};
}

bool fits_int(std::size_t size) { return size <= static_cast<std::size_t>(INT_MAX); }

}  // namespace

std::size_t aead_key_size(AeadAlgorithm algorithm) {
  switch (algorithm) {
    case AeadAlgorithm::aes_128_gcm: return 16;
    case AeadAlgorithm::aes_256_gcm: return 32;
    case AeadAlgorithm::chacha20_poly1305: return 32;
  }
  throw std::invalid_argument("unknown AEAD algorithm");
}

Result<Bytes> aead_seal(AeadAlgorithm algorithm, BytesView key, BytesView nonce, BytesView associated_data,
                        BytesView plaintext) {
  if (auto ok = check_sizes(algorithm, key, nonce); !ok) return std::unexpected(ok.error());
  if (!fits_int(plaintext.size()) || !fits_int(associated_data.size())) {
    return fail(ErrorCode::payload_too_large, "AEAD input too large");
  }
  detail::EvpCipherCtxPtr context(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  if (!context) return fail(ErrorCode::crypto_failure, "EVP_CIPHER_CTX_new failed");
  if (EVP_EncryptInit_ex2(context.get(), cipher(algorithm), key.data(), nonce.data(), nullptr) != 1) {
    return fail(ErrorCode::crypto_failure, "AEAD init failed: " + detail::openssl_error());
  }
  int length = 0;
  if (!associated_data.empty() &&
      EVP_EncryptUpdate(context.get(), nullptr, &length, associated_data.data(),
                        static_cast<int>(associated_data.size())) != 1) {
    return fail(ErrorCode::crypto_failure, "AEAD AAD failed: " + detail::openssl_error());
  }
  Bytes out(plaintext.size() + kAeadTagSize);
  int written = 0;
  if (!plaintext.empty()) {
    if (EVP_EncryptUpdate(context.get(), out.data(), &length, plaintext.data(), static_cast<int>(plaintext.size())) !=
        1) {
      return fail(ErrorCode::crypto_failure, "AEAD encrypt failed: " + detail::openssl_error());
    }
    written = length;
  }
  if (EVP_EncryptFinal_ex(context.get(), out.data() + written, &length) != 1) {
    return fail(ErrorCode::crypto_failure, "AEAD final failed: " + detail::openssl_error());
  }
  written += length;
  if (static_cast<std::size_t>(written) != plaintext.size()) {
    return fail(ErrorCode::crypto_failure, "AEAD produced an unexpected length");
  }
  if (EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kAeadTagSize),
                          out.data() + written) != 1) {
    return fail(ErrorCode::crypto_failure, "AEAD tag failed: " + detail::openssl_error());
  }
  return out;
}

Result<Bytes> aead_open(AeadAlgorithm algorithm, BytesView key, BytesView nonce, BytesView associated_data,
                        BytesView ciphertext_and_tag) {
  if (auto ok = check_sizes(algorithm, key, nonce); !ok) return std::unexpected(ok.error());
  if (ciphertext_and_tag.size() < kAeadTagSize) return fail(ErrorCode::decrypt_failed, "ciphertext shorter than the tag");
  if (!fits_int(ciphertext_and_tag.size()) || !fits_int(associated_data.size())) {
    return fail(ErrorCode::payload_too_large, "AEAD input too large");
  }
  const std::size_t ciphertext_size = ciphertext_and_tag.size() - kAeadTagSize;
  detail::EvpCipherCtxPtr context(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  if (!context) return fail(ErrorCode::crypto_failure, "EVP_CIPHER_CTX_new failed");
  if (EVP_DecryptInit_ex2(context.get(), cipher(algorithm), key.data(), nonce.data(), nullptr) != 1) {
    return fail(ErrorCode::crypto_failure, "AEAD init failed: " + detail::openssl_error());
  }
  int length = 0;
  if (!associated_data.empty() &&
      EVP_DecryptUpdate(context.get(), nullptr, &length, associated_data.data(),
                        static_cast<int>(associated_data.size())) != 1) {
    return fail(ErrorCode::decrypt_failed, "AEAD AAD failed");
  }
  Bytes out(ciphertext_size);
  int written = 0;
  if (ciphertext_size != 0) {
    if (EVP_DecryptUpdate(context.get(), out.data(), &length, ciphertext_and_tag.data(),
                          static_cast<int>(ciphertext_size)) != 1) {
      return fail(ErrorCode::decrypt_failed, "AEAD decrypt failed");
    }
    written = length;
  }
  Bytes tag(ciphertext_and_tag.end() - kAeadTagSize, ciphertext_and_tag.end());
  if (EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kAeadTagSize), tag.data()) != 1) {
    return fail(ErrorCode::crypto_failure, "AEAD set tag failed");
  }
  if (EVP_DecryptFinal_ex(context.get(), out.data() + written, &length) != 1) {
    ERR_clear_error();
    cleanse(out);
    return fail(ErrorCode::decrypt_failed, "authentication tag mismatch");
  }
  return out;
}

}  // namespace cloister::crypto

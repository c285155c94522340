#pragma once
// AEADs: AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305 (12-byte nonce, 16-byte tag appended).

#include "cloister/core/error.h"
#include "cloister/crypto/bytes.h"

namespace cloister::crypto {

enum class AeadAlgorithm { aes_128_gcm, aes_256_gcm, chacha20_poly1305 };

std::size_t aead_key_size(AeadAlgorithm algorithm);    // 16, 32, 32
constexpr std::size_t kAeadNonceSize = 12;
constexpr std::size_t kAeadTagSize = 16;

// Returns ciphertext ‖ tag. Fails (bad_key / invalid_argument) on wrong key or nonce sizes.
Result<Bytes> aead_seal(AeadAlgorithm algorithm, BytesView key, BytesView nonce, BytesView associated_data,
                        BytesView plaintext);
// Takes ciphertext ‖ tag; fails with decrypt_failed on any tampering or truncation.
Result<Bytes> aead_open(AeadAlgorithm algorithm, BytesView key, BytesView nonce, BytesView associated_data,
                        BytesView ciphertext_and_tag);

}  // namespace cloister::crypto

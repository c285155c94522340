#include "cloister/crypto/x25519.h"

#include <stdexcept>

#include "openssl_util.h"

namespace cloister::crypto {
namespace {

constexpr std::size_t kX25519Size = 32;

}  // namespace

X25519KeyPair x25519_generate() {
  auto key = detail::make_pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));
  if (!key) throw std::runtime_error("X25519 key generation failed");
  Bytes private_key(kX25519Size);
  Bytes public_key(kX25519Size);
  std::size_t private_size = private_key.size();
  std::size_t public_size = public_key.size();
  if (EVP_PKEY_get_raw_private_key(key.get(), private_key.data(), &private_size) != 1 ||
      EVP_PKEY_get_raw_public_key(key.get(), public_key.data(), &public_size) != 1 || private_size != kX25519Size ||
      public_size != kX25519Size) {
    cleanse(private_key);
    throw std::runtime_error("X25519 key export failed");
  }
  return X25519KeyPair{Sensitive<Bytes>(std::move(private_key)), std::move(public_key)};
}

Result<X25519KeyPair> x25519_from_private(BytesView private_key) {
  if (private_key.size() != kX25519Size) return fail(ErrorCode::bad_key, "X25519 private key must be 32 bytes");
  auto key = detail::make_pkey(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, private_key.data(), private_key.size()));
  if (!key) return fail(ErrorCode::bad_key, "X25519 private key rejected: " + detail::openssl_error());
  Bytes public_key(kX25519Size);
  std::size_t public_size = public_key.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), public_key.data(), &public_size) != 1 || public_size != kX25519Size) {
    return fail(ErrorCode::crypto_failure, "X25519 public key export failed");
  }
  return X25519KeyPair{Sensitive<Bytes>(Bytes(private_key.begin(), private_key.end())), std::move(public_key)};
}

Result<Bytes> x25519(BytesView private_key, BytesView peer_public_key) {
  if (private_key.size() != kX25519Size) return fail(ErrorCode::bad_key, "X25519 private key must be 32 bytes");
  if (peer_public_key.size() != kX25519Size) return fail(ErrorCode::bad_key, "X25519 public key must be 32 bytes");
  auto own = detail::make_pkey(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, private_key.data(), private_key.size()));
  auto peer = detail::make_pkey(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, peer_public_key.data(), peer_public_key.size()));
  if (!own || !peer) return fail(ErrorCode::bad_key, "X25519 key rejected: " + detail::openssl_error());
  auto context = detail::make_pkey_ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, own.get(), nullptr));
  if (!context || EVP_PKEY_derive_init(context.get()) != 1 || EVP_PKEY_derive_set_peer(context.get(), peer.get()) != 1) {
    return fail(ErrorCode::crypto_failure, "X25519 derive setup failed: " + detail::openssl_error());
  }
  Bytes shared(kX25519Size);
  std::size_t size = shared.size();
  if (EVP_PKEY_derive(context.get(), shared.data(), &size) != 1) {
    // OpenSSL refuses an all-zero shared secret (a small-order peer point).
    ERR_clear_error();
    return fail(ErrorCode::crypto_failure, "X25519 produced no valid shared secret (small-order point?)");
  }
  shared.resize(size);
  std::uint8_t any = 0;
  for (std::uint8_t byte : shared) any |= byte;
  if (size != kX25519Size || any == 0) {
    cleanse(shared);
    return fail(ErrorCode::crypto_failure, "X25519 shared secret is all zero");
  }
  return shared;
}

}  // namespace cloister::crypto

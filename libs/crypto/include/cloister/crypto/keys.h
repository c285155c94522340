#pragma once
// Public and private keys (EC P-256 / P-384, X25519, RSA) over a shared OpenSSL EVP_PKEY.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cloister/core/error.h"
#include "cloister/core/sensitive.h"
#include "cloister/crypto/bytes.h"

namespace cloister::crypto {

enum class KeyType { ec_p256, ec_p384, x25519, rsa };

// Size of one ECDSA signature component (and of one point coordinate): 32 for P-256, 48 for P-384;
// 0 for the other key types.
std::size_t ec_component_size(KeyType type);

// A public key. Cheap to copy (shared, immutable EVP_PKEY). The from_* factories accept only the
// supported types (EC on P-256/P-384, X25519, RSA and RSA-PSS) and fail with bad_key otherwise.
class PublicKey {
 public:
  static Result<PublicKey> from_pem(std::string_view pem);        // "-----BEGIN PUBLIC KEY-----"
  static Result<PublicKey> from_spki_der(BytesView der);          // SubjectPublicKeyInfo, nothing after it
  static Result<PublicKey> from_x25519_raw(BytesView raw);        // 32 bytes
  // Affine coordinates, each exactly ec_component_size(type) bytes; the point must be on the curve.
  static Result<PublicKey> from_ec_point(KeyType type, BytesView x, BytesView y);
  // Shares an existing EVP_PKEY* (takes a new reference; the caller keeps its own). For library
  // code that already holds OpenSSL objects (e.g. a certificate's key). Throws on nullptr.
  static PublicKey from_native(void* evp_pkey);

  Bytes spki_der() const;
  std::string pem() const;
  // Throws std::logic_error for a key of an unsupported type (possible only via from_native, e.g.
  // an Ed25519 certificate key); try_type() answers nullopt instead.
  KeyType type() const;
  std::optional<KeyType> try_type() const;
  // RSA modulus size in bits (0 for other types).
  int bits() const;
  Result<Bytes> raw_x25519() const;          // bad_key unless X25519
  Result<Bytes> ec_point() const;            // uncompressed 0x04 ‖ x ‖ y; bad_key unless EC
  void* native() const { return key_.get(); }  // EVP_PKEY*

  bool operator==(const PublicKey& other) const;  // same SubjectPublicKeyInfo DER

 private:
  explicit PublicKey(std::shared_ptr<void> key) : key_(std::move(key)) {}
  std::shared_ptr<void> key_;  // EVP_PKEY
};

// A private key. Copies share the same immutable EVP_PKEY.
class PrivateKey {
 public:
  static PrivateKey generate(KeyType type);  // RSA: 2048 bits
  // PKCS#8 or traditional ("EC PRIVATE KEY", "RSA PRIVATE KEY") PEM; encrypted keys are refused.
  static Result<PrivateKey> from_pem(std::string_view pem);
  static Result<PrivateKey> from_x25519_raw(BytesView raw);  // 32 bytes

  Sensitive<std::string> pem() const;  // PKCS#8 "-----BEGIN PRIVATE KEY-----"
  PublicKey public_key() const;
  KeyType type() const;
  Result<Sensitive<Bytes>> raw_x25519() const;  // bad_key unless X25519
  void* native() const { return key_.get(); }    // EVP_PKEY*

 private:
  explicit PrivateKey(std::shared_ptr<void> key) : key_(std::move(key)) {}
  std::shared_ptr<void> key_;  // EVP_PKEY
};

}  // namespace cloister::crypto

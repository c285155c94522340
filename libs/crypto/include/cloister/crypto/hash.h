#pragma once
// Hashes, HMAC and HKDF (RFC 5869) over OpenSSL 3.0 EVP.

#include "cloister/core/error.h"
#include "cloister/crypto/bytes.h"

namespace cloister::crypto {

enum class HashAlgorithm { sha256, sha384, sha512 };

std::size_t digest_size(HashAlgorithm algorithm);

Bytes sha256(BytesView data);
Bytes sha384(BytesView data);
Bytes sha512(BytesView data);
Bytes digest(HashAlgorithm algorithm, BytesView data);

// Incremental hashing (e.g. SHA-384 of an executable read in chunks).
class Hasher {
 public:
  explicit Hasher(HashAlgorithm algorithm);
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;
  void update(BytesView data);
  Bytes finish();

 private:
  void* context_;  // EVP_MD_CTX*
};

Bytes hmac(HashAlgorithm algorithm, BytesView key, BytesView data);

// RFC 5869. An empty salt means HashLen zero bytes. expand fails when length > 255 * HashLen.
Bytes hkdf_extract(HashAlgorithm algorithm, BytesView salt, BytesView input_key_material);
Result<Bytes> hkdf_expand(HashAlgorithm algorithm, BytesView pseudorandom_key, BytesView info, std::size_t length);
Result<Bytes> hkdf(HashAlgorithm algorithm, BytesView salt, BytesView input_key_material, BytesView info,
                   std::size_t length);

// Lower-case hex and back (hex_decode fails with bad_encoding).
std::string hex_encode(BytesView data);
Result<Bytes> hex_decode(std::string_view hex);

}  // namespace cloister::crypto

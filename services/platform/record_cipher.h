#pragma once
// RecordCipher: how cloister-platform keeps PHI at rest (docs/platform.md, "Data at rest").
//
// The platform's data key (an aes-256 key in cloister-keys, released only to the attested platform)
// never encrypts anything directly: HKDF-SHA256 derives one subkey per purpose from it
//   records  "cloister-platform records v1"   AES-256-GCM of every PHI-bearing column
//   index    "cloister-platform index v1"     HMAC-SHA256 blind indexes (search by identifier)
//   cache    "cloister-platform cache v1"     the Redis cache (redis::EncryptedCache)
// so a value can never be decrypted under the wrong purpose.
//
// Sealed value: 0x01 (format) ‖ 12-byte random nonce ‖ ciphertext ‖ 16-byte tag.
// Associated data: "cloister-record-v1" ‖ 0x00 ‖ tenant ‖ 0x00 ‖ table ‖ 0x00 ‖ record id ‖ 0x00 ‖ field
// — a value moved to another tenant, table, record or column does not open (decrypt_failed).

#include "cloister/core/error.h"
#include "cloister/core/sensitive.h"
#include "cloister/crypto/bytes.h"

#include <string>
#include <string_view>

namespace cloister::platform {

// Where a sealed value belongs: the associated data.
struct RecordLocation {
  std::string_view tenant;
  std::string_view table;
  std::string_view id;
  std::string_view field;
};

class RecordCipher {
 public:
  static constexpr std::uint8_t kFormatVersion = 0x01;

  // bad_key unless data_key is 32 bytes.
  static Result<RecordCipher> create(const Sensitive<crypto::Bytes>& data_key);
  ~RecordCipher();
  RecordCipher(RecordCipher&&) noexcept = default;
  RecordCipher& operator=(RecordCipher&&) noexcept = default;

  Result<crypto::Bytes> seal(const RecordLocation& where, crypto::BytesView plaintext) const;
  // decrypt_failed for a tampered, truncated or misplaced value.
  Result<crypto::Bytes> open(const RecordLocation& where, crypto::BytesView sealed) const;
  Result<std::string> open_text(const RecordLocation& where, crypto::BytesView sealed) const;

  // HMAC-SHA256(index key, "tenant" ‖ 0 ‖ kind ‖ 0 ‖ value): equal inputs give equal digests, so the
  // database can look a value up without holding it.
  crypto::Bytes blind_index(std::string_view tenant, std::string_view kind, std::string_view value) const;

  // The subkey of the Redis cache (32 bytes).
  const Sensitive<crypto::Bytes>& cache_key() const { return cache_key_; }

 private:
  RecordCipher() = default;
  Sensitive<crypto::Bytes> record_key_;
  Sensitive<crypto::Bytes> index_key_;
  Sensitive<crypto::Bytes> cache_key_;
};

}  // namespace cloister::platform

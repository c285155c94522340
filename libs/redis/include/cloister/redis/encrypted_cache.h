#pragma once
// A cache in Redis that holds only ciphertext: every value is sealed with AES-256-GCM under a data
// key released by cloister-keys, with the full Redis key name and the value's purpose bound as
// associated data, so a value copied to another key name, or read for another purpose, fails.
//
// Stored value: 0x01 (format version) ‖ 12-byte random nonce ‖ ciphertext ‖ 16-byte tag.
// Associated data: "cloister-cache-v1" ‖ 0x00 ‖ full Redis key ‖ 0x00 ‖ purpose.
//
// Errors: those of Client (redis_unavailable, redis_auth_failed, redis_error), cache_value_invalid
// (a stored value that is malformed or does not decrypt), bad_key (a data key that is not 32
// bytes), invalid_argument (a name or purpose containing a NUL byte, or a negative TTL).
// Thread-safe when the Client is (it is).

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "cloister/core/error.h"
#include "cloister/core/sensitive.h"
#include "cloister/crypto/bytes.h"
#include "cloister/redis/client.h"

namespace cloister::redis {

class EncryptedCache {
 public:
  static constexpr std::string_view kAssociatedDataLabel = "cloister-cache-v1";
  static constexpr std::uint8_t kFormatVersion = 0x01;

  // data_key: 32 bytes (AES-256-GCM); prefix: the caller's key prefix (e.g. "platform:"), every key
  // is prefix + name. The client must outlive the cache.
  EncryptedCache(Client& client, Sensitive<crypto::Bytes> data_key, std::string prefix);
  ~EncryptedCache();  // wipes the data key
  EncryptedCache(EncryptedCache&&) noexcept = default;
  EncryptedCache(const EncryptedCache&) = delete;
  EncryptedCache& operator=(const EncryptedCache&) = delete;

  // SET prefix+name <sealed value> PX ttl (ttl 0: no expiry).
  Status put(std::string_view name, std::string_view purpose, crypto::BytesView value, std::chrono::milliseconds ttl);
  // nullopt when the key is absent (or expired).
  Result<std::optional<crypto::Bytes>> get(std::string_view name, std::string_view purpose);
  // DEL prefix+name (absent is not an error).
  Status remove(std::string_view name);

  // The full Redis key of a name (prefix + name).
  std::string key(std::string_view name) const { return prefix_ + std::string(name); }

 private:
  Result<crypto::Bytes> associated_data(const std::string& full_key, std::string_view purpose) const;

  Client& client_;
  Sensitive<crypto::Bytes> data_key_;
  std::string prefix_;
};

}  // namespace cloister::redis

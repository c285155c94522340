#pragma once
// The caller's side of cloister-keys' attested key release (docs/keys.md, POST /keys/{name}/release):
// mutual TLS with this service's attested identity, its token in `Authorization: Attestation`, and the
// answer opened with its attested HPKE private key — the only place the key is ever in clear.

#include "cloister/core/error.h"
#include "cloister/core/sensitive.h"
#include "cloister/crypto/bytes.h"
#include "cloister/service/attested_identity.h"

#include <cstdint>
#include <optional>
#include <string>

namespace cloister::service {

struct ReleasedKey {
  std::string name;
  std::uint64_t version = 0;
  std::string type;                  // "aes-256", "model-aes-256", "hpke-x25519"
  Sensitive<crypto::Bytes> material;  // 32 bytes (hpke-x25519: the private key)
  crypto::Bytes public_key;          // hpke-x25519 only
};

// Releases `name` (its current version, or `version`) from the key service at keys_url. The server's
// problem code comes back as this Error's code (key_release_denied, not_found, …); hpke_open_failed
// when the answer does not open with this identity's key.
Result<ReleasedKey> release_key(const AttestedIdentity& identity, const std::string& keys_url, const std::string& name,
                                std::optional<std::uint64_t> version = std::nullopt);

// Short-lived Redis credentials for this attested service (docs/redis.md, POST /redis/credentials):
// an ACL user limited to the key prefix the key service's rules give this TEE, sealed to its HPKE key.
struct RedisAccess {
  std::string username;
  Sensitive<std::string> password;
  std::string prefix;  // every key must start with it
  std::int64_t expires_at = 0;  // Unix seconds: the user is removed then
  std::string host;
  std::uint16_t port = 0;
  std::string server_name;
};

// key_release_denied when no prefix rule admits this service; not_found when the key service has no
// Redis; hpke_open_failed when the answer does not open with this identity's key.
Result<RedisAccess> request_redis_credentials(const AttestedIdentity& identity, const std::string& keys_url);

}  // namespace cloister::service

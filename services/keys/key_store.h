#pragma once
// KeyStore: cloister-keys' named, versioned keys in SQLite (docs/keys.md, "Keys" and "At rest").
//
// Types: aes-256 (data keys: 32 random bytes), model-aes-256 (model-encryption keys: the same
// material, a separate type for policies and audit), hpke-x25519 (key pairs: the 32-byte X25519
// private key is the material; its public key is derived from it and readable by admins).
//
// Every version's material is stored only wrapped by the KeyWrapper (the master key), with
// associated data material_aad(name, version, type): a row copied to another name, version or type
// does not unwrap. Each release-policy version is sealed the same way (its hash, bound to the key
// name and policy version), so a policy edited in the database is refused, not applied. The
// store's first open records a check value, so a different master key is refused at start.
//
// Rotation adds a version and makes it current; old versions stay releasable by explicit version.
// Disabling a key is final. Every change commits together with its audit entry. Thread-safe.

#include "audit_log.h"
#include "key_wrapper.h"
#include "release_policy.h"
#include "cloister/sqlite/database.h"

#include "cloister/core/clock.h"
#include "cloister/core/error.h"
#include "cloister/core/sensitive.h"
#include "cloister/crypto/bytes.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cloister::keys {

using sqlite::Database;
using sqlite::Statement;

enum class KeyType { aes_256, model_aes_256, hpke_x25519 };

// "aes-256", "model-aes-256", "hpke-x25519".
std::string_view key_type_name(KeyType type);
std::optional<KeyType> parse_key_type(std::string_view name);
// 1–128 of [A-Za-z0-9._-], starting with a letter or digit.
bool is_key_name(std::string_view name);

struct KeyVersion {
  std::uint64_t version = 0;
  std::int64_t created_at = 0;
  std::string created_by;
  crypto::Bytes public_key;  // hpke-x25519 only (describe()): the raw 32-byte X25519 public key
};

struct KeyPolicyVersion {
  std::string key;
  std::uint64_t version = 0;
  std::int64_t created_at = 0;
  std::string author;
  std::string comment;
  ReleasePolicy policy;
  std::string hash;  // policy.hash()

  // {"key","version","created_at","author","comment","policy_hash","policy"}
  nlohmann::json to_json() const;
};

struct KeyInfo {
  std::string name;
  KeyType type = KeyType::aes_256;
  std::int64_t created_at = 0;
  std::string created_by;
  std::uint64_t current_version = 0;
  std::optional<std::int64_t> disabled_at;
  std::string disabled_by;
  std::vector<KeyVersion> versions;  // describe(): oldest first; list(): empty
  KeyPolicyVersion policy;           // the release policy in force

  // {"name","type","created_at","created_by","current_version","disabled",("disabled_at","disabled_by"),
  //  "versions":[{"version","created_at","created_by",("public_key": base64url)}],
  //  "policy":{"version","policy_hash",…}} — never material.
  nlohmann::json to_json() const;
};

struct KeyMaterial {
  std::string name;
  KeyType type = KeyType::aes_256;
  std::uint64_t version = 0;
  Sensitive<crypto::Bytes> material;  // 32 bytes: the AES key, or the X25519 private key
  crypto::Bytes public_key;           // hpke-x25519 only
};

class KeyStore {
 public:
  // Creates the schema (and the master key check value) on first open; config_invalid when the
  // wrapper's master key is not the one the store was created with.
  static Result<std::unique_ptr<KeyStore>> open(std::shared_ptr<Database> database,
                                                std::shared_ptr<const KeyWrapper> wrapper, const Clock& clock);

  // `audit` carries who (actor, client, request id); the store fills in the rest and commits it with
  // the change. invalid_argument for a bad name or comment; conflict when the key exists.
  Result<KeyInfo> create(std::string_view name, KeyType type, const ReleasePolicy& policy, std::string_view comment,
                         AuditEntry audit);
  // A new current version. not_found; conflict when the key is disabled.
  Result<KeyInfo> rotate(std::string_view name, AuditEntry audit);
  // Final: a disabled key is never released again. not_found; conflict when already disabled.
  Result<KeyInfo> disable(std::string_view name, AuditEntry audit);

  struct PolicyChange {
    KeyPolicyVersion version;
    bool changed = false;  // false: equal to the policy in force, no version was made
  };
  // A new policy version. not_found; conflict when base_version is given and is not the version in
  // force.
  Result<PolicyChange> set_policy(std::string_view name, const ReleasePolicy& policy, std::string_view comment,
                                  std::optional<std::uint64_t> base_version, AuditEntry audit);

  // Every key, by name (no versions listed).
  Result<std::vector<KeyInfo>> list() const;
  // One key with its versions (hpke-x25519: their public keys). not_found.
  Result<KeyInfo> describe(std::string_view name) const;
  // One key without its versions: type, state and policy in force (what a release checks). not_found.
  Result<KeyInfo> summary(std::string_view name) const;
  // Every policy version of a key, oldest first. not_found.
  Result<std::vector<KeyPolicyVersion>> policy_versions(std::string_view name) const;
  // The current version's material, or `version`'s. not_found for an unknown key or version. Says
  // nothing about the key's state or policy: the caller checks describe() first.
  Result<KeyMaterial> material(std::string_view name, std::optional<std::uint64_t> version) const;

  // Associated data of a version's wrapped material: name ‖ 0x00 ‖ version (u64 big-endian) ‖ type.
  static crypto::Bytes material_aad(std::string_view name, std::uint64_t version, KeyType type);

 private:
  KeyStore(std::shared_ptr<Database> database, std::shared_ptr<const KeyWrapper> wrapper, const Clock& clock);
  Result<KeyInfo> read_key(std::string_view name, bool with_versions) const;
  Result<KeyPolicyVersion> current_policy(std::string_view name) const;
  Result<KeyPolicyVersion> read_policy_row(Statement& row) const;
  Result<crypto::Bytes> seal_policy(std::string_view name, std::uint64_t version, const std::string& hash) const;
  Status insert_version(std::string_view name, std::uint64_t version, KeyType type, std::string_view who);
  Status insert_policy(std::string_view name, std::uint64_t version, const ReleasePolicy& policy, std::string_view author,
                       std::string_view comment);

  std::shared_ptr<Database> database_;
  std::shared_ptr<const KeyWrapper> wrapper_;
  const Clock& clock_;
};

}  // namespace cloister::keys

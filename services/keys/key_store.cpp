#include "key_store.h"

#include "cloister/crypto/base64.h"
#include "cloister/crypto/hpke.h"
#include "cloister/crypto/random.h"
#include "cloister/crypto/x25519.h"

#include <algorithm>

namespace cloister::keys {
namespace {

constexpr std::size_t kMaterialSize = 32;
constexpr std::size_t kMaxKeyName = 128;
constexpr std::size_t kMaxComment = 512;
constexpr std::size_t kMaxPolicyText = 256 * 1024;
constexpr std::string_view kMasterCheckName = "master_key_check";
constexpr std::string_view kMasterCheckText = "cloister-keys master key check v1";
constexpr std::string_view kMasterCheckAad = "cloister-keys/master-key-check";
constexpr std::string_view kPolicySealLabel = "cloister-keys/policy";

constexpr std::string_view kSchema =
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS keys ("
    " name TEXT PRIMARY KEY,"
    " type TEXT NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " created_by TEXT NOT NULL,"
    " current_version INTEGER NOT NULL,"
    " disabled_at INTEGER,"
    " disabled_by TEXT);"
    "CREATE TABLE IF NOT EXISTS key_versions ("
    " name TEXT NOT NULL REFERENCES keys (name),"
    " version INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " created_by TEXT NOT NULL,"
    " wrapped BLOB NOT NULL,"
    " PRIMARY KEY (name, version));"
    "CREATE TABLE IF NOT EXISTS key_policies ("
    " name TEXT NOT NULL REFERENCES keys (name),"
    " version INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " author TEXT NOT NULL,"
    " comment TEXT NOT NULL,"
    " policy TEXT NOT NULL,"
    " policy_hash TEXT NOT NULL,"
    " seal BLOB NOT NULL,"
    " PRIMARY KEY (name, version));";

bool printable(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

void append_u64(crypto::Bytes& out, std::uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(value >> shift));
}

Error integrity_error(std::string_view name, std::string_view what) {
  return Error{ErrorCode::internal, "key " + std::string(name) + ": " + std::string(what) +
                                        " failed its integrity check (the database was altered or the master key differs)"};
}

}  // namespace

std::string_view key_type_name(KeyType type) {
  switch (type) {
    case KeyType::aes_256:
      return "aes-256";
    case KeyType::model_aes_256:
      return "model-aes-256";
    case KeyType::hpke_x25519:
      return "hpke-x25519";
  }
  return "unknown";
}

std::optional<KeyType> parse_key_type(std::string_view name) {
  for (auto type : {KeyType::aes_256, KeyType::model_aes_256, KeyType::hpke_x25519}) {
    if (key_type_name(type) == name) return type;
  }
  return std::nullopt;
}

bool is_key_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxKeyName) return false;
  auto alnum = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  return alnum(name.front()) &&
         std::all_of(name.begin(), name.end(), [&](char c) { return alnum(c) || c == '.' || c == '_' || c == '-'; });
}

nlohmann::json KeyPolicyVersion::to_json() const {
  return {{"key", key},           {"version", version},   {"created_at", created_at}, {"author", author},
          {"comment", comment},   {"policy_hash", hash},  {"policy", policy.to_json()}};
}

nlohmann::json KeyInfo::to_json() const {
  nlohmann::json out = {{"name", name},
                        {"type", key_type_name(type)},
                        {"created_at", created_at},
                        {"created_by", created_by},
                        {"current_version", current_version},
                        {"disabled", disabled_at.has_value()},
                        {"policy", policy.to_json()}};
  if (disabled_at) {
    out["disabled_at"] = *disabled_at;
    out["disabled_by"] = disabled_by;
  }
  if (!versions.empty()) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& version : versions) {
      nlohmann::json item = {{"version", version.version},
                             {"created_at", version.created_at},
                             {"created_by", version.created_by}};
      if (!version.public_key.empty()) item["public_key"] = crypto::base64url_encode(version.public_key);
      list.push_back(std::move(item));
    }
    out["versions"] = std::move(list);
  }
  return out;
}

crypto::Bytes KeyStore::material_aad(std::string_view name, std::uint64_t version, KeyType type) {
  crypto::Bytes aad(name.begin(), name.end());
  aad.push_back(0);
  append_u64(aad, version);
  const auto type_name = key_type_name(type);
  aad.insert(aad.end(), type_name.begin(), type_name.end());
  return aad;
}

KeyStore::KeyStore(std::shared_ptr<Database> database, std::shared_ptr<const KeyWrapper> wrapper, const Clock& clock)
    : database_(std::move(database)), wrapper_(std::move(wrapper)), clock_(clock) {}

Result<std::unique_ptr<KeyStore>> KeyStore::open(std::shared_ptr<Database> database,
                                                 std::shared_ptr<const KeyWrapper> wrapper, const Clock& clock) {
  if (!database || !wrapper) throw std::invalid_argument("KeyStore needs a database and a key wrapper");
  std::unique_ptr<KeyStore> store(new KeyStore(database, wrapper, clock));
  auto lock = database->lock();
  Database::Transaction transaction(*database);
  if (auto begun = transaction.begin(); !begun) return std::unexpected(begun.error());
  if (auto schema = database->execute(std::string(kSchema)); !schema) return std::unexpected(schema.error());
  if (auto audit = AuditLog::create_schema(*database); !audit) return std::unexpected(audit.error());

  auto check = database->prepare("SELECT value FROM meta WHERE name = ?1");
  if (!check) return std::unexpected(check.error());
  check->bind(1, kMasterCheckName);
  auto row = check->step();
  if (!row) return std::unexpected(row.error());
  if (*row) {
    auto opened = wrapper->unwrap(check->column_blob(0), crypto::as_bytes(kMasterCheckAad));
    if (!opened || crypto::to_string(opened->reveal()) != kMasterCheckText) {
      return fail(ErrorCode::config_invalid, "the master key does not open this key store (" +
                                                 database->path().string() + "): wrong master_key_file?");
    }
  } else {
    auto value = wrapper->wrap(crypto::as_bytes(kMasterCheckText), crypto::as_bytes(kMasterCheckAad));
    if (!value) return std::unexpected(value.error());
    auto insert = database->prepare("INSERT INTO meta (name, value) VALUES (?1, ?2)");
    if (!insert) return std::unexpected(insert.error());
    insert->bind(1, kMasterCheckName).bind_blob(2, *value);
    if (auto done = insert->run(); !done) return std::unexpected(done.error());
  }
  if (auto committed = transaction.commit(); !committed) return std::unexpected(committed.error());
  return store;
}

Result<crypto::Bytes> KeyStore::seal_policy(std::string_view name, std::uint64_t version, const std::string& hash) const {
  crypto::Bytes aad(kPolicySealLabel.begin(), kPolicySealLabel.end());
  aad.push_back(0);
  aad.insert(aad.end(), name.begin(), name.end());
  aad.push_back(0);
  append_u64(aad, version);
  return wrapper_->wrap(crypto::as_bytes(hash), aad);
}

Status KeyStore::insert_version(std::string_view name, std::uint64_t version, KeyType type, std::string_view who) {
  crypto::Bytes material;
  if (type == KeyType::hpke_x25519) {
    auto pair = crypto::hpke::generate_key_pair();
    material = std::move(pair.private_key.reveal());
  } else {
    material = crypto::random_bytes(kMaterialSize);
  }
  auto wrapped = wrapper_->wrap(material, material_aad(name, version, type));
  crypto::cleanse(material);
  if (!wrapped) return std::unexpected(wrapped.error());
  auto insert = database_->prepare(
      "INSERT INTO key_versions (name, version, created_at, created_by, wrapped) VALUES (?1, ?2, ?3, ?4, ?5)");
  if (!insert) return std::unexpected(insert.error());
  insert->bind(1, name)
      .bind(2, static_cast<std::int64_t>(version))
      .bind(3, clock_.unix_seconds())
      .bind(4, who)
      .bind_blob(5, *wrapped);
  return insert->run();
}

Status KeyStore::insert_policy(std::string_view name, std::uint64_t version, const ReleasePolicy& policy,
                               std::string_view author, std::string_view comment) {
  const auto hash = policy.hash();
  auto seal = seal_policy(name, version, hash);
  if (!seal) return std::unexpected(seal.error());
  auto insert = database_->prepare(
      "INSERT INTO key_policies (name, version, created_at, author, comment, policy, policy_hash, seal)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  if (!insert) return std::unexpected(insert.error());
  insert->bind(1, name)
      .bind(2, static_cast<std::int64_t>(version))
      .bind(3, clock_.unix_seconds())
      .bind(4, author)
      .bind(5, comment)
      .bind(6, policy.to_json().dump())
      .bind(7, hash)
      .bind_blob(8, *seal);
  return insert->run();
}

Result<KeyPolicyVersion> KeyStore::read_policy_row(Statement& row) const {
  // Columns: name, version, created_at, author, comment, policy, policy_hash, seal.
  KeyPolicyVersion version;
  version.key = row.column_text(0);
  version.version = static_cast<std::uint64_t>(row.column_int(1));
  version.created_at = row.column_int(2);
  version.author = row.column_text(3);
  version.comment = row.column_text(4);
  const auto text = row.column_text(5);
  const auto stored_hash = row.column_text(6);
  const auto seal = row.column_blob(7);
  auto document = text.size() <= kMaxPolicyText ? nlohmann::json::parse(text, nullptr, false) : nlohmann::json();
  auto policy = ReleasePolicy::from_json(document);
  if (!policy) return std::unexpected(integrity_error(version.key, "a stored release policy"));
  version.policy = std::move(*policy);
  version.hash = version.policy.hash();
  crypto::Bytes aad(kPolicySealLabel.begin(), kPolicySealLabel.end());
  aad.push_back(0);
  aad.insert(aad.end(), version.key.begin(), version.key.end());
  aad.push_back(0);
  append_u64(aad, version.version);
  auto sealed_hash = wrapper_->unwrap(seal, aad);
  if (!sealed_hash || crypto::to_string(sealed_hash->reveal()) != version.hash || stored_hash != version.hash) {
    return std::unexpected(integrity_error(version.key, "release policy version " + std::to_string(version.version)));
  }
  return version;
}

Result<KeyPolicyVersion> KeyStore::current_policy(std::string_view name) const {
  auto select = database_->prepare(
      "SELECT name, version, created_at, author, comment, policy, policy_hash, seal FROM key_policies"
      " WHERE name = ?1 ORDER BY version DESC LIMIT 1");
  if (!select) return std::unexpected(select.error());
  select->bind(1, name);
  auto row = select->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::unexpected(integrity_error(name, "the release policy (none stored)"));
  return read_policy_row(*select);
}

Result<KeyInfo> KeyStore::read_key(std::string_view name, bool with_versions) const {
  auto select = database_->prepare(
      "SELECT name, type, created_at, created_by, current_version, disabled_at, disabled_by FROM keys WHERE name = ?1");
  if (!select) return std::unexpected(select.error());
  select->bind(1, name);
  auto row = select->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return fail(ErrorCode::not_found, "no key named " + std::string(name));
  KeyInfo info;
  info.name = select->column_text(0);
  auto type = parse_key_type(select->column_text(1));
  if (!type) return std::unexpected(integrity_error(name, "the key type"));
  info.type = *type;
  info.created_at = select->column_int(2);
  info.created_by = select->column_text(3);
  info.current_version = static_cast<std::uint64_t>(select->column_int(4));
  if (!select->column_is_null(5)) {
    info.disabled_at = select->column_int(5);
    info.disabled_by = select->column_text(6);
  }
  auto policy = current_policy(info.name);
  if (!policy) return std::unexpected(policy.error());
  info.policy = std::move(*policy);
  if (!with_versions) return info;

  auto versions = database_->prepare(
      "SELECT version, created_at, created_by, wrapped FROM key_versions WHERE name = ?1 ORDER BY version");
  if (!versions) return std::unexpected(versions.error());
  versions->bind(1, info.name);
  while (true) {
    auto next = versions->step();
    if (!next) return std::unexpected(next.error());
    if (!*next) break;
    KeyVersion version;
    version.version = static_cast<std::uint64_t>(versions->column_int(0));
    version.created_at = versions->column_int(1);
    version.created_by = versions->column_text(2);
    if (info.type == KeyType::hpke_x25519) {
      // The public key is derived from the (authenticated) private key, never trusted from a column.
      auto material = wrapper_->unwrap(versions->column_blob(3), material_aad(info.name, version.version, info.type));
      if (!material) return std::unexpected(integrity_error(info.name, "version " + std::to_string(version.version)));
      auto pair = crypto::x25519_from_private(material->reveal());
      crypto::cleanse(material->reveal());
      if (!pair) return std::unexpected(integrity_error(info.name, "version " + std::to_string(version.version)));
      version.public_key = pair->public_key;
    }
    info.versions.push_back(std::move(version));
  }
  return info;
}

Result<KeyInfo> KeyStore::create(std::string_view name, KeyType type, const ReleasePolicy& policy,
                                 std::string_view comment, AuditEntry audit) {
  if (!is_key_name(name)) return fail(ErrorCode::invalid_argument, "a key name is 1-128 of [A-Za-z0-9._-], starting alphanumeric");
  if (comment.size() > kMaxComment || !printable(comment)) {
    return fail(ErrorCode::invalid_argument, "a comment is at most 512 printable ASCII characters");
  }
  Result<KeyInfo> info = fail(ErrorCode::internal);
  {
    auto lock = database_->lock();
    Database::Transaction transaction(*database_);
    if (auto begun = transaction.begin(); !begun) return std::unexpected(begun.error());
    auto insert = database_->prepare(
        "INSERT INTO keys (name, type, created_at, created_by, current_version) VALUES (?1, ?2, ?3, ?4, 1)");
    if (!insert) return std::unexpected(insert.error());
    insert->bind(1, name).bind(2, key_type_name(type)).bind(3, clock_.unix_seconds()).bind(4, audit.actor);
    if (auto done = insert->run(); !done) {
      if (done.error().code == ErrorCode::conflict) return fail(ErrorCode::conflict, "a key named " + std::string(name) + " exists");
      return std::unexpected(done.error());
    }
    if (auto done = insert_version(name, 1, type, audit.actor); !done) return std::unexpected(done.error());
    if (auto done = insert_policy(name, 1, policy, audit.actor, comment); !done) return std::unexpected(done.error());
    audit.action = audit_action::kCreate;
    audit.key = std::string(name);
    audit.key_version = 1;
    audit.outcome = audit_outcome::kOk;
    audit.detail = "type " + std::string(key_type_name(type)) + ", policy " + policy.hash();
    if (auto done = AuditLog::insert(*database_, audit, clock_); !done) return std::unexpected(done.error());
    if (auto committed = transaction.commit(); !committed) return std::unexpected(committed.error());
    info = read_key(name, true);
  }
  AuditLog::log_line(audit);
  return info;
}

Result<KeyInfo> KeyStore::rotate(std::string_view name, AuditEntry audit) {
  Result<KeyInfo> info = fail(ErrorCode::internal);
  {
    auto lock = database_->lock();
    Database::Transaction transaction(*database_);
    if (auto begun = transaction.begin(); !begun) return std::unexpected(begun.error());
    auto current = read_key(name, false);
    if (!current) return std::unexpected(current.error());
    if (current->disabled_at) return fail(ErrorCode::conflict, "key " + std::string(name) + " is disabled");
    const auto next = current->current_version + 1;
    if (auto done = insert_version(name, next, current->type, audit.actor); !done) return std::unexpected(done.error());
    auto update = database_->prepare("UPDATE keys SET current_version = ?2 WHERE name = ?1");
    if (!update) return std::unexpected(update.error());
    update->bind(1, name).bind(2, static_cast<std::int64_t>(next));
    if (auto done = update->run(); !done) return std::unexpected(done.error());
    audit.action = audit_action::kRotate;
    audit.key = std::string(name);
    audit.key_version = static_cast<std::int64_t>(next);
    audit.outcome = audit_outcome::kOk;
    audit.detail = "previous version " + std::to_string(current->current_version);
    if (auto done = AuditLog::insert(*database_, audit, clock_); !done) return std::unexpected(done.error());
    if (auto committed = transaction.commit(); !committed) return std::unexpected(committed.error());
    info = read_key(name, true);
  }
  AuditLog::log_line(audit);
  return info;
}

Result<KeyInfo> KeyStore::disable(std::string_view name, AuditEntry audit) {
  Result<KeyInfo> info = fail(ErrorCode::internal);
  {
    auto lock = database_->lock();
    Database::Transaction transaction(*database_);
    if (auto begun = transaction.begin(); !begun) return std::unexpected(begun.error());
    auto current = read_key(name, false);
    if (!current) return std::unexpected(current.error());
    if (current->disabled_at) return fail(ErrorCode::conflict, "key " + std::string(name) + " is already disabled");
    auto update = database_->prepare("UPDATE keys SET disabled_at = ?2, disabled_by = ?3 WHERE name = ?1");
    if (!update) return std::unexpected(update.error());
    update->bind(1, name).bind(2, clock_.unix_seconds()).bind(3, audit.actor);
    if (auto done = update->run(); !done) return std::unexpected(done.error());
    audit.action = audit_action::kDisable;
    audit.key = std::string(name);
    audit.key_version = static_cast<std::int64_t>(current->current_version);
    audit.outcome = audit_outcome::kOk;
    if (auto done = AuditLog::insert(*database_, audit, clock_); !done) return std::unexpected(done.error());
    if (auto committed = transaction.commit(); !committed) return std::unexpected(committed.error());
    info = read_key(name, true);
  }
  AuditLog::log_line(audit);
  return info;
}

Result<KeyStore::PolicyChange> KeyStore::set_policy(std::string_view name, const ReleasePolicy& policy,
                                                    std::string_view comment, std::optional<std::uint64_t> base_version,
                                                    AuditEntry audit) {
  if (comment.size() > kMaxComment || !printable(comment)) {
    return fail(ErrorCode::invalid_argument, "a comment is at most 512 printable ASCII characters");
  }
  PolicyChange change;
  {
    auto lock = database_->lock();
    Database::Transaction transaction(*database_);
    if (auto begun = transaction.begin(); !begun) return std::unexpected(begun.error());
    auto current = read_key(name, false);
    if (!current) return std::unexpected(current.error());
    const auto& in_force = current->policy;
    if (base_version && *base_version != in_force.version) {
      return fail(ErrorCode::conflict, "the policy in force is version " + std::to_string(in_force.version));
    }
    if (in_force.hash == policy.hash()) {
      change.version = in_force;
      return change;  // nothing to commit
    }
    const auto next = in_force.version + 1;
    if (auto done = insert_policy(name, next, policy, audit.actor, comment); !done) return std::unexpected(done.error());
    audit.action = audit_action::kSetPolicy;
    audit.key = std::string(name);
    audit.key_version = static_cast<std::int64_t>(current->current_version);
    audit.outcome = audit_outcome::kOk;
    audit.detail = "policy version " + std::to_string(next) + " " + policy.hash() + " (was " +
                   std::to_string(in_force.version) + " " + in_force.hash + ")";
    if (auto done = AuditLog::insert(*database_, audit, clock_); !done) return std::unexpected(done.error());
    if (auto committed = transaction.commit(); !committed) return std::unexpected(committed.error());
    auto stored = current_policy(name);
    if (!stored) return std::unexpected(stored.error());
    change.version = std::move(*stored);
    change.changed = true;
  }
  AuditLog::log_line(audit);
  return change;
}

Result<std::vector<KeyInfo>> KeyStore::list() const {
  auto lock = database_->lock();
  auto select = database_->prepare("SELECT name FROM keys ORDER BY name");
  if (!select) return std::unexpected(select.error());
  std::vector<std::string> names;
  while (true) {
    auto row = select->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    names.push_back(select->column_text(0));
  }
  std::vector<KeyInfo> keys;
  for (const auto& name : names) {
    auto info = read_key(name, false);
    if (!info) return std::unexpected(info.error());
    keys.push_back(std::move(*info));
  }
  return keys;
}

Result<KeyInfo> KeyStore::describe(std::string_view name) const {
  auto lock = database_->lock();
  return read_key(name, true);
}

Result<KeyInfo> KeyStore::summary(std::string_view name) const {
  auto lock = database_->lock();
  return read_key(name, false);
}

Result<std::vector<KeyPolicyVersion>> KeyStore::policy_versions(std::string_view name) const {
  auto lock = database_->lock();
  if (auto exists = read_key(name, false); !exists) return std::unexpected(exists.error());
  auto select = database_->prepare(
      "SELECT name, version, created_at, author, comment, policy, policy_hash, seal FROM key_policies"
      " WHERE name = ?1 ORDER BY version");
  if (!select) return std::unexpected(select.error());
  select->bind(1, name);
  std::vector<KeyPolicyVersion> versions;
  while (true) {
    auto row = select->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    auto version = read_policy_row(*select);
    if (!version) return std::unexpected(version.error());
    versions.push_back(std::move(*version));
  }
  return versions;
}

Result<KeyMaterial> KeyStore::material(std::string_view name, std::optional<std::uint64_t> version) const {
  auto lock = database_->lock();
  auto key = database_->prepare("SELECT type, current_version FROM keys WHERE name = ?1");
  if (!key) return std::unexpected(key.error());
  key->bind(1, name);
  auto row = key->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return fail(ErrorCode::not_found, "no key named " + std::string(name));
  auto type = parse_key_type(key->column_text(0));
  if (!type) return std::unexpected(integrity_error(name, "the key type"));
  const auto wanted = version.value_or(static_cast<std::uint64_t>(key->column_int(1)));

  auto select = database_->prepare("SELECT wrapped FROM key_versions WHERE name = ?1 AND version = ?2");
  if (!select) return std::unexpected(select.error());
  select->bind(1, name).bind(2, static_cast<std::int64_t>(wanted));
  auto found = select->step();
  if (!found) return std::unexpected(found.error());
  if (!*found) return fail(ErrorCode::not_found, "key " + std::string(name) + " has no version " + std::to_string(wanted));
  auto material = wrapper_->unwrap(select->column_blob(0), material_aad(name, wanted, *type));
  if (!material) return std::unexpected(integrity_error(name, "version " + std::to_string(wanted)));
  if (material->reveal().size() != kMaterialSize) return std::unexpected(integrity_error(name, "the material size"));
  KeyMaterial out;
  out.name = std::string(name);
  out.type = *type;
  out.version = wanted;
  if (*type == KeyType::hpke_x25519) {
    auto pair = crypto::x25519_from_private(material->reveal());
    if (!pair) return std::unexpected(integrity_error(name, "the key pair"));
    out.public_key = pair->public_key;
  }
  out.material = std::move(*material);
  return out;
}

}  // namespace cloister::keys

#include "cloister/attestation/signing_keys.h"

#include <algorithm>
#include <mutex>
#include <optional>
#include <system_error>
#include <vector>

#include "cloister/attestation/claims.h"
#include "cloister/crypto/jwk.h"
#include "file_util.h"

namespace cloister::attestation {
namespace {

constexpr std::string_view kManifestName = "keys.json";
constexpr std::size_t kMaxManifestSize = 1024 * 1024;
constexpr std::size_t kMaxKeyFileSize = 16 * 1024;
constexpr std::size_t kThumbprintSize = 43;  // base64url of SHA-256, unpadded

namespace manifest {
constexpr std::string_view kCurrent = "current";
constexpr std::string_view kKeys = "keys";
constexpr std::string_view kKid = "kid";
constexpr std::string_view kCreatedAt = "created_at";
constexpr std::string_view kRetiredAt = "retired_at";
}  // namespace manifest

// A kid names a file: only a thumbprint's characters are accepted.
bool is_thumbprint(std::string_view kid) {
  return kid.size() == kThumbprintSize && std::all_of(kid.begin(), kid.end(), [](char c) {
           return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
         });
}

Result<std::string> thumbprint_of(const crypto::PublicKey& key) {
  auto jwk = crypto::public_key_to_jwk(key);
  if (!jwk) return std::unexpected(jwk.error());
  auto thumbprint = crypto::jwk_thumbprint(*jwk);
  if (!thumbprint) return std::unexpected(thumbprint.error());
  return std::move(*thumbprint);
}

Result<std::shared_ptr<const SigningKey>> make_key(crypto::PrivateKey private_key) {
  auto public_key = private_key.public_key();
  auto kid = thumbprint_of(public_key);
  if (!kid) return std::unexpected(kid.error());
  return std::make_shared<const SigningKey>(SigningKey{std::move(*kid), std::move(private_key), std::move(public_key)});
}

}  // namespace

struct SigningKeys::State {
  struct Entry {
    std::shared_ptr<const SigningKey> key;
    std::int64_t created_at = 0;
    std::optional<std::int64_t> retired_at;
  };

  std::filesystem::path directory;
  const Clock* clock = nullptr;
  std::chrono::seconds retention{};
  mutable std::mutex mutex;
  std::vector<Entry> entries;  // entries[0] is the current key
  std::shared_ptr<const SigningKey> current;

  std::filesystem::path key_path(std::string_view kid) const { return directory / (std::string(kid) + ".pem"); }

  bool expired(const Entry& entry, std::int64_t now) const {
    return entry.retired_at && *entry.retired_at + retention.count() <= now;
  }

  Status save_manifest() const {
    nlohmann::json keys = nlohmann::json::array();
    for (const auto& entry : entries) {
      keys.push_back({{manifest::kKid, entry.key->kid},
                      {manifest::kCreatedAt, entry.created_at},
                      {manifest::kRetiredAt, entry.retired_at ? nlohmann::json(*entry.retired_at) : nlohmann::json()}});
    }
    nlohmann::json document = {{manifest::kCurrent, current->kid}, {manifest::kKeys, std::move(keys)}};
    return detail::write_private_file(directory / kManifestName, document.dump(2) + "\n");
  }

  // A new key, written to its file (not yet in the manifest).
  Result<Entry> generate() const {
    auto private_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
    auto pem = private_key.pem();
    auto key = make_key(std::move(private_key));
    if (!key) return std::unexpected(key.error());
    if (auto written = detail::write_private_file(key_path((*key)->kid), pem.reveal()); !written) {
      return std::unexpected(written.error());
    }
    return Entry{std::move(*key), clock->unix_seconds(), std::nullopt};
  }

  Result<std::shared_ptr<const SigningKey>> load_key(std::string_view kid) const {
    const auto path = key_path(kid);
    if (auto mode = detail::check_private_mode(path); !mode) return std::unexpected(mode.error());
    auto pem = detail::read_file(path, kMaxKeyFileSize);
    if (!pem) return std::unexpected(pem.error());
    auto private_key = crypto::PrivateKey::from_pem(*pem);
    if (!private_key) return fail(ErrorCode::config_invalid, path.string() + ": " + private_key.error().detail);
    if (private_key->type() != crypto::KeyType::ec_p256) {
      return fail(ErrorCode::config_invalid, path.string() + " is not an ECDSA P-256 key");
    }
    auto key = make_key(std::move(*private_key));
    if (!key) return std::unexpected(key.error());
    if ((*key)->kid != kid) {
      return fail(ErrorCode::config_invalid, path.string() + " does not hold the key its name says");
    }
    return key;
  }

  Status load_manifest() {
    const auto path = directory / kManifestName;
    if (auto mode = detail::check_private_mode(path); !mode) return mode;
    auto text = detail::read_file(path, kMaxManifestSize);
    if (!text) return std::unexpected(text.error());
    const auto document = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
    auto invalid = [&](std::string_view why) {
      return fail(ErrorCode::config_invalid, path.string() + ": " + std::string(why));
    };
    if (!document.is_object() || !document.contains(manifest::kCurrent) || !document.contains(manifest::kKeys) ||
        !document.at(manifest::kCurrent).is_string() || !document.at(manifest::kKeys).is_array()) {
      return invalid("malformed");
    }
    const auto& current_kid = document.at(manifest::kCurrent).get_ref<const std::string&>();
    for (const auto& item : document.at(manifest::kKeys)) {
      if (!item.is_object() || !item.contains(manifest::kKid) || !item.at(manifest::kKid).is_string() ||
          !item.contains(manifest::kCreatedAt) || !item.at(manifest::kCreatedAt).is_number_integer()) {
        return invalid("malformed key entry");
      }
      const auto& kid = item.at(manifest::kKid).get_ref<const std::string&>();
      if (!is_thumbprint(kid)) return invalid("a kid is not a JWK thumbprint");
      Entry entry;
      entry.created_at = item.at(manifest::kCreatedAt).get<std::int64_t>();
      if (item.contains(manifest::kRetiredAt) && !item.at(manifest::kRetiredAt).is_null()) {
        if (!item.at(manifest::kRetiredAt).is_number_integer()) return invalid("malformed retired_at");
        entry.retired_at = item.at(manifest::kRetiredAt).get<std::int64_t>();
      }
      if ((kid == current_kid) == entry.retired_at.has_value()) {
        return invalid("the current key is retired, or another is not");
      }
      for (const auto& other : entries) {
        if (other.key->kid == kid) return invalid("a kid is listed twice");
      }
      auto key = load_key(kid);
      if (!key) return std::unexpected(key.error());
      entry.key = std::move(*key);
      if (kid == current_kid) {
        current = entry.key;
        entries.insert(entries.begin(), std::move(entry));
      } else {
        entries.push_back(std::move(entry));
      }
    }
    if (!current) return invalid("the current key is not listed");
    return {};
  }

  // Deletes retired keys past retention (memory, manifest, then files).
  Status prune() {
    const std::int64_t now = clock->unix_seconds();
    std::vector<std::string> removed;
    std::erase_if(entries, [&](const Entry& entry) {
      if (!expired(entry, now)) return false;
      removed.push_back(entry.key->kid);
      return true;
    });
    if (removed.empty()) return {};
    if (auto saved = save_manifest(); !saved) return saved;
    for (const auto& kid : removed) {
      std::error_code error;
      std::filesystem::remove(key_path(kid), error);
    }
    return {};
  }
};

SigningKeys::SigningKeys(std::unique_ptr<State> state) : state_(std::move(state)) {}
SigningKeys::SigningKeys(SigningKeys&&) noexcept = default;
SigningKeys& SigningKeys::operator=(SigningKeys&&) noexcept = default;
SigningKeys::~SigningKeys() = default;

Result<SigningKeys> SigningKeys::open(const std::filesystem::path& directory, const Clock& clock,
                                      std::chrono::seconds retention) {
  auto state = std::make_unique<State>();
  state->directory = directory;
  state->clock = &clock;
  state->retention = retention;
  if (auto ready = detail::ensure_private_directory(directory); !ready) return std::unexpected(ready.error());

  std::error_code error;
  if (std::filesystem::exists(directory / kManifestName, error)) {
    if (auto loaded = state->load_manifest(); !loaded) return std::unexpected(loaded.error());
    if (auto pruned = state->prune(); !pruned) return std::unexpected(pruned.error());
  } else {
    auto entry = state->generate();
    if (!entry) return std::unexpected(entry.error());
    state->current = entry->key;
    state->entries.push_back(std::move(*entry));
    if (auto saved = state->save_manifest(); !saved) return std::unexpected(saved.error());
  }
  return SigningKeys(std::move(state));
}

std::shared_ptr<const SigningKey> SigningKeys::current() const {
  std::lock_guard lock(state_->mutex);
  return state_->current;
}

std::string SigningKeys::current_kid() const { return current()->kid; }

Status SigningKeys::rotate() {
  std::lock_guard lock(state_->mutex);
  auto entry = state_->generate();
  if (!entry) return std::unexpected(entry.error());
  const auto previous = state_->entries;
  const auto previous_current = state_->current;
  state_->entries.front().retired_at = state_->clock->unix_seconds();
  state_->current = entry->key;
  state_->entries.insert(state_->entries.begin(), std::move(*entry));
  if (auto saved = state_->save_manifest(); !saved) {
    // Keep using the old key: the new one was never published.
    std::error_code error;
    std::filesystem::remove(state_->key_path(state_->current->kid), error);
    state_->entries = previous;
    state_->current = previous_current;
    return saved;
  }
  return state_->prune();
}

nlohmann::json SigningKeys::jwks() const {
  std::lock_guard lock(state_->mutex);
  const std::int64_t now = state_->clock->unix_seconds();
  nlohmann::json keys = nlohmann::json::array();
  for (const auto& entry : state_->entries) {
    if (state_->expired(entry, now)) continue;
    auto converted = crypto::public_key_to_jwk(entry.key->public_key);
    if (!converted) continue;  // cannot happen for a P-256 key
    nlohmann::json jwk = std::move(*converted);
    jwk[header::kKeyId] = entry.key->kid;
    jwk[header::kAlgorithm] = "ES256";
    jwk["use"] = "sig";
    keys.push_back(std::move(jwk));
  }
  return {{"keys", std::move(keys)}};
}

}  // namespace cloister::attestation

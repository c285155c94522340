#include "cloister/attestation/signing_keys.h"

#include <algorithm>
#include <mutex>
#include <optional>
#include <system_error>
#include <vector>

#include "cloister/attestation/claims.h"
#include "cloister/crypto/jwk.h"
#include "cloister/core/private_files.h"

namespace cloister::attestation {
namespace {

constexpr std::string_view kManifestName = "keys.json";
constexpr std::size_t kMaxManifestSize = 1024 * 1024;
constexpr std::size_t kMaxKeyFileSize = 16 * 1024;
constexpr std::size_t kThumbprintSize = 43;  // base64url of SHA-256, unpadded

namespace manifest {
constexpr std::string_view kCurrent = "current";
constexpr std::string_view kNext = "next";
constexpr std::string_view kActivatedAt = "activated_at";
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
    std::int64_t activated_at = 0;
    std::optional<std::int64_t> retired_at;
  };

  std::filesystem::path directory;
  const Clock* clock = nullptr;
  std::chrono::seconds retention{};
  mutable std::mutex mutex;
  std::vector<Entry> entries;  // entries[0] is the current key
  std::shared_ptr<const SigningKey> current;
  std::optional<Entry> next;   // pre-published, not yet signing

  std::filesystem::path key_path(std::string_view kid) const { return directory / (std::string(kid) + ".pem"); }

  bool expired(const Entry& entry, std::int64_t now) const {
    return entry.retired_at && *entry.retired_at + retention.count() <= now;
  }

  Status save_manifest() const {
    nlohmann::json keys = nlohmann::json::array();
    for (const auto& entry : entries) {
      keys.push_back({{manifest::kKid, entry.key->kid},
                      {manifest::kCreatedAt, entry.created_at},
                      {manifest::kActivatedAt, entry.activated_at},
                      {manifest::kRetiredAt, entry.retired_at ? nlohmann::json(*entry.retired_at) : nlohmann::json()}});
    }
    if (next) {
      keys.push_back({{manifest::kKid, next->key->kid},
                      {manifest::kCreatedAt, next->created_at},
                      {manifest::kActivatedAt, nullptr},
                      {manifest::kRetiredAt, nullptr}});
    }
    nlohmann::json document = {{manifest::kCurrent, current->kid},
                               {manifest::kNext, next ? nlohmann::json(next->key->kid) : nlohmann::json()},
                               {manifest::kKeys, std::move(keys)}};
    return write_private_file(directory / kManifestName, document.dump(2) + "\n");
  }

  // A new key, written to its file (not yet in the manifest).
  Result<Entry> generate() const {
    auto private_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
    auto pem = private_key.pem();
    auto key = make_key(std::move(private_key));
    if (!key) return std::unexpected(key.error());
    if (auto written = write_private_file(key_path((*key)->kid), pem.reveal()); !written) {
      return std::unexpected(written.error());
    }
    const std::int64_t now = clock->unix_seconds();
    return Entry{std::move(*key), now, now, std::nullopt};
  }

  Result<std::shared_ptr<const SigningKey>> load_key(std::string_view kid) const {
    const auto path = key_path(kid);
    if (auto mode = check_private_mode(path); !mode) return std::unexpected(mode.error());
    auto pem = read_file(path, kMaxKeyFileSize);
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
    if (auto mode = check_private_mode(path); !mode) return mode;
    auto text = read_file(path, kMaxManifestSize);
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
    std::optional<std::string> next_kid;
    if (document.contains(manifest::kNext) && !document.at(manifest::kNext).is_null()) {
      if (!document.at(manifest::kNext).is_string()) return invalid("malformed next");
      next_kid = document.at(manifest::kNext).get<std::string>();
      if (*next_kid == current_kid) return invalid("the next key is the current key");
    }
    for (const auto& item : document.at(manifest::kKeys)) {
      if (!item.is_object() || !item.contains(manifest::kKid) || !item.at(manifest::kKid).is_string() ||
          !item.contains(manifest::kCreatedAt) || !item.at(manifest::kCreatedAt).is_number_integer()) {
        return invalid("malformed key entry");
      }
      const auto& kid = item.at(manifest::kKid).get_ref<const std::string&>();
      if (!is_thumbprint(kid)) return invalid("a kid is not a JWK thumbprint");
      Entry entry;
      entry.created_at = item.at(manifest::kCreatedAt).get<std::int64_t>();
      entry.activated_at = entry.created_at;  // the older layout: activated when created
      if (item.contains(manifest::kActivatedAt) && !item.at(manifest::kActivatedAt).is_null()) {
        if (!item.at(manifest::kActivatedAt).is_number_integer()) return invalid("malformed activated_at");
        entry.activated_at = item.at(manifest::kActivatedAt).get<std::int64_t>();
      }
      if (item.contains(manifest::kRetiredAt) && !item.at(manifest::kRetiredAt).is_null()) {
        if (!item.at(manifest::kRetiredAt).is_number_integer()) return invalid("malformed retired_at");
        entry.retired_at = item.at(manifest::kRetiredAt).get<std::int64_t>();
      }
      const bool is_next = next_kid && kid == *next_kid;
      if (is_next && entry.retired_at) return invalid("the next key is retired");
      if (!is_next && (kid == current_kid) == entry.retired_at.has_value()) {
        return invalid("the current key is retired, or another is not");
      }
      for (const auto& other : entries) {
        if (other.key->kid == kid) return invalid("a kid is listed twice");
      }
      if (next && next->key->kid == kid) return invalid("a kid is listed twice");
      auto key = load_key(kid);
      if (!key) return std::unexpected(key.error());
      entry.key = std::move(*key);
      if (is_next) {
        next = std::move(entry);
      } else if (kid == current_kid) {
        current = entry.key;
        entries.insert(entries.begin(), std::move(entry));
      } else {
        entries.push_back(std::move(entry));
      }
    }
    if (!current) return invalid("the current key is not listed");
    if (next_kid && !next) return invalid("the next key is not listed");
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
  if (auto ready = ensure_private_directory(directory); !ready) return std::unexpected(ready.error());

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
  return rotate_locked();
}

Status SigningKeys::rotate_locked() {
  State& state = *state_;
  const std::int64_t now = state.clock->unix_seconds();
  std::optional<State::Entry> promoted;
  bool generated = false;
  if (state.next) {
    promoted = *state.next;
  } else {
    auto entry = state.generate();
    if (!entry) return std::unexpected(entry.error());
    promoted = std::move(*entry);
    generated = true;
  }
  promoted->activated_at = now;
  const auto previous = state.entries;
  const auto previous_current = state.current;
  const auto previous_next = state.next;
  state.entries.front().retired_at = now;
  state.current = promoted->key;
  state.next.reset();
  state.entries.insert(state.entries.begin(), std::move(*promoted));
  if (auto saved = state.save_manifest(); !saved) {
    // Keep using the old key: the new one was never made current.
    if (generated) {
      std::error_code error;
      std::filesystem::remove(state.key_path(state.current->kid), error);
    }
    state.entries = previous;
    state.current = previous_current;
    state.next = previous_next;
    return saved;
  }
  return state.prune();
}

std::int64_t SigningKeys::current_activated_at() const {
  std::lock_guard lock(state_->mutex);
  return state_->entries.front().activated_at;
}

std::optional<std::string> SigningKeys::next_kid() const {
  std::lock_guard lock(state_->mutex);
  if (!state_->next) return std::nullopt;
  return state_->next->key->kid;
}

Result<bool> SigningKeys::rotate_if_due(std::chrono::seconds period, std::chrono::seconds prepublish) {
  if (period.count() <= 0) return false;
  std::lock_guard lock(state_->mutex);
  State& state = *state_;
  const std::int64_t now = state.clock->unix_seconds();
  const std::int64_t due = state.entries.front().activated_at + period.count();
  const std::int64_t publish_at = due - std::clamp<std::int64_t>(prepublish.count(), 0, period.count());
  if (now >= publish_at && !state.next && now < due) {
    auto entry = state.generate();
    if (!entry) return std::unexpected(entry.error());
    state.next = std::move(*entry);
    if (auto saved = state.save_manifest(); !saved) {
      std::error_code error;
      std::filesystem::remove(state.key_path(state.next->key->kid), error);
      state.next.reset();
      return std::unexpected(saved.error());
    }
  }
  if (now < due) {
    // Retired keys past retention leave on the schedule too, not only at the next rotation.
    if (auto pruned = state.prune(); !pruned) return std::unexpected(pruned.error());
    return false;
  }
  if (auto rotated = rotate_locked(); !rotated) return std::unexpected(rotated.error());
  return true;
}

nlohmann::json SigningKeys::jwks() const {
  std::lock_guard lock(state_->mutex);
  const std::int64_t now = state_->clock->unix_seconds();
  nlohmann::json keys = nlohmann::json::array();
  std::vector<const State::Entry*> published;
  for (const auto& entry : state_->entries) {
    published.push_back(&entry);
    if (published.size() == 1 && state_->next) published.push_back(&*state_->next);
  }
  for (const auto* entry_pointer : published) {
    const auto& entry = *entry_pointer;
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

#pragma once
// SigningKeys: the attestation service's ES256 token-signing keys, persisted in a directory.
//
// Layout (directory mode 0700, files 0600):
//   <kid>.pem       PKCS#8 PEM private key, ECDSA P-256; kid = RFC 7638 JWK thumbprint (base64url)
//   keys.json       {"current":"<kid>","next":"<kid>"|null,
//                    "keys":[{"kid":"…","created_at":<unix s>,"activated_at":<unix s>|null,
//                             "retired_at":<unix s>|null}]}
// The first open() generates one key; later opens load the same keys (each file's thumbprint must
// match its kid). rotate() makes a new current key and retires the previous one: retired keys stay in
// jwks() — so tokens they signed keep verifying — until `retention` has passed since retirement, then
// they are deleted. Retention must be at least the token lifetime plus relying parties' JWKS cache
// time. One process owns a directory. Thread-safe.
//
// Scheduled rotation (rotate_if_due): a *next* key is generated and published in jwks() some time
// before it starts signing (pre-publication), so a relying party that caches the JWKS already holds
// it; at the due time it becomes current and the previous key is retired. A manifest without
// "next"/"activated_at" (older layout) reads as activated at creation with no next key.

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "cloister/core/clock.h"
#include "cloister/core/error.h"
#include "cloister/crypto/keys.h"

namespace cloister::attestation {

struct SigningKey {
  std::string kid;
  crypto::PrivateKey private_key;
  crypto::PublicKey public_key;
};

class SigningKeys {
 public:
  static constexpr std::chrono::seconds kDefaultRetention{std::chrono::hours(24)};

  // Creates the directory (0700) and a first key when absent; loads it otherwise. io_error on file
  // problems, config_invalid when a key file or the directory is group/other-accessible, a kid does not
  // match its key or keys.json is malformed.
  static Result<SigningKeys> open(const std::filesystem::path& directory, const Clock& clock,
                                  std::chrono::seconds retention = kDefaultRetention);

  SigningKeys(SigningKeys&&) noexcept;
  SigningKeys& operator=(SigningKeys&&) noexcept;
  ~SigningKeys();

  // The key new tokens are signed with.
  std::shared_ptr<const SigningKey> current() const;
  std::string current_kid() const;
  // New current key (persisted before it is used) — the pre-published next key when there is one;
  // the previous one is retired.
  Status rotate();
  // When the current key started signing (Unix seconds).
  std::int64_t current_activated_at() const;
  // The pre-published next key, when there is one (in jwks(), not yet signing).
  std::optional<std::string> next_kid() const;
  // The schedule: period 0 (or less) never rotates. Otherwise, from `period − prepublish` after the
  // current key was activated a next key is published, and from `period` after it rotate() runs.
  // Returns whether it rotated. Call it regularly (the service does, from a timer).
  Result<bool> rotate_if_due(std::chrono::seconds period, std::chrono::seconds prepublish);
  // {"keys":[JWK…]}: the public keys of the current and not-yet-expired retired keys, each with
  // kid, alg "ES256" and use "sig". Never private members.
  nlohmann::json jwks() const;

 private:
  struct State;
  explicit SigningKeys(std::unique_ptr<State> state);
  Status rotate_locked();
  std::unique_ptr<State> state_;
};

}  // namespace cloister::attestation

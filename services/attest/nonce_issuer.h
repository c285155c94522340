#pragma once
// NonceIssuer: short-lived, one-time nonces for fresh evidence (POST /attest/nonce), verifiable by
// the server without remembering what it issued:
//
//   n1.<expiry, Unix s>.<16 random bytes, base64url>.<HMAC-SHA-256(key, "n1.<expiry>.<random>"), base64url>
//
// check() recomputes the MAC (constant-time comparison) and the expiry against the clock; consume()
// also records the nonce as used until it expires, so each is accepted once. The used set is the only
// state, bounded by `max_used` (beyond it consume answers too_many_requests rather than forget a used
// nonce). The MAC key lives in <state_dir>/nonce-key (0600): nonces survive a restart, and replicas
// sharing the key accept each other's nonces (each replica enforces one-time use on its own).

#include "cloister/core/clock.h"
#include "cloister/core/error.h"
#include "cloister/core/sensitive.h"
#include "cloister/crypto/bytes.h"

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace cloister::attest {

class NonceIssuer {
 public:
  static constexpr std::size_t kDefaultMaxUsed = 1'000'000;

  NonceIssuer(const Clock& clock, std::chrono::seconds lifetime, Sensitive<crypto::Bytes> key,
              std::size_t max_used = kDefaultMaxUsed);
  // The 32-byte MAC key at `path`, created (0600) when absent. io_error / config_invalid.
  static Result<Sensitive<crypto::Bytes>> load_or_create_key(const std::filesystem::path& path);

  std::string issue() const;
  // nonce_invalid for a malformed, forged or expired nonce (does not consume it).
  Status check(std::string_view nonce) const;
  // check(), then one use only: nonce_invalid when already used.
  Status consume(std::string_view nonce);
  std::chrono::seconds lifetime() const { return lifetime_; }
  std::size_t used_count() const;

 private:
  std::string mac(std::string_view message) const;

  const Clock& clock_;
  std::chrono::seconds lifetime_;
  Sensitive<crypto::Bytes> key_;
  std::size_t max_used_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::int64_t> used_;  // random part → expiry
  std::int64_t next_prune_ = 0;
};

}  // namespace cloister::attest

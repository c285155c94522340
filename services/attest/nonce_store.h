#pragma once
// One-time nonces for freshness: issued by POST /attest/nonce, each accepted once and only until it
// expires. Bounded: at most `capacity` outstanding nonces (the oldest are dropped first).

#include "cloister/core/clock.h"
#include "cloister/core/error.h"

#include <chrono>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

namespace cloister::attest {

class NonceStore {
 public:
  NonceStore(const Clock& clock, std::chrono::seconds lifetime, std::size_t capacity = 100000);
  std::string issue();
  // nonce_invalid unless the nonce was issued, has not expired and was not used; consumes it.
  Status consume(const std::string& nonce);
  std::chrono::seconds lifetime() const { return lifetime_; }

 private:
  const Clock& clock_;
  std::chrono::seconds lifetime_;
  std::size_t capacity_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::int64_t> expiry_;  // nonce → expiry (Unix s)
  std::deque<std::string> order_;
};

}  // namespace cloister::attest

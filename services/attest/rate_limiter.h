#pragma once
// RateLimiter: a token bucket per client address for the unauthenticated endpoints. Each client may
// make `burst` requests at once and `requests_per_minute` on average; beyond that acquire() says how
// long to wait (the 429's Retry-After). The client table is bounded (max_clients): when it is full,
// buckets that have refilled are dropped first, then the least recently seen. The clock is injected.
//
// The key is the TCP peer address: X-Forwarded-For is never trusted (anyone can send it).

#include "cloister/core/clock.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace cloister::attest {

struct RateLimitOptions {
  std::uint32_t requests_per_minute = 600;  // 0: no limit
  std::uint32_t burst = 60;                 // bucket size (at least 1)
  std::size_t max_clients = 10000;
};

class RateLimiter {
 public:
  RateLimiter(const Clock& clock, RateLimitOptions options);

  // nullopt: allowed (one token taken). Otherwise: refused, retry after this many seconds (≥ 1).
  std::optional<std::chrono::seconds> acquire(std::string_view client);
  bool enabled() const { return options_.requests_per_minute > 0; }
  std::size_t clients() const;

 private:
  struct Bucket {
    double tokens = 0;
    double updated = 0;  // seconds (clock)
  };
  double now_seconds() const;
  void make_room(double now);

  const Clock& clock_;
  RateLimitOptions options_;
  double rate_;  // tokens per second
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace cloister::attest

#include "rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace cloister::attest {

RateLimiter::RateLimiter(const Clock& clock, RateLimitOptions options)
    : clock_(clock), options_(options), rate_(options.requests_per_minute / 60.0) {
  options_.burst = std::max<std::uint32_t>(options_.burst, 1);
  options_.max_clients = std::max<std::size_t>(options_.max_clients, 1);
}

double RateLimiter::now_seconds() const {
  return std::chrono::duration<double>(clock_.now().time_since_epoch()).count();
}

void RateLimiter::make_room(double now) {
  const double capacity = options_.burst;
  std::erase_if(buckets_, [&](const auto& entry) {
    return entry.second.tokens + (now - entry.second.updated) * rate_ >= capacity;
  });
  if (buckets_.size() < options_.max_clients) return;
  auto oldest = std::min_element(buckets_.begin(), buckets_.end(),
                                 [](const auto& a, const auto& b) { return a.second.updated < b.second.updated; });
  buckets_.erase(oldest);
}

std::optional<std::chrono::seconds> RateLimiter::acquire(std::string_view client) {
  if (!enabled()) return std::nullopt;
  const double now = now_seconds();
  const double capacity = options_.burst;
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(std::string(client));
  if (it == buckets_.end()) {
    if (buckets_.size() >= options_.max_clients) make_room(now);
    it = buckets_.emplace(std::string(client), Bucket{capacity, now}).first;
  }
  Bucket& bucket = it->second;
  // A clock that stepped back refills nothing (and never adds tokens).
  bucket.tokens = std::min(capacity, bucket.tokens + std::max(0.0, now - bucket.updated) * rate_);
  bucket.updated = std::max(bucket.updated, now);
  if (bucket.tokens >= 1.0) {
    bucket.tokens -= 1.0;
    return std::nullopt;
  }
  const double wait = (1.0 - bucket.tokens) / rate_;
  return std::chrono::seconds(std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(wait - 1e-6))));
}

std::size_t RateLimiter::clients() const {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

}  // namespace cloister::attest

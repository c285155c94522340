#include "rate_limiter.h"

#include <gtest/gtest.h>

namespace cloister::attest {
namespace {

using namespace std::chrono_literals;

TEST(RateLimiter, BurstThenRateWithRetryAfter) {
  auto clock = ManualClock::at_unix(1'700'000'000);
  RateLimiter limiter(clock, {60, 3, 100});  // one per second, three at once
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(limiter.acquire("198.51.100.7").has_value()) << i;
  auto refused = limiter.acquire("198.51.100.7");
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(*refused, 1s);
  // Another client has its own bucket.
  EXPECT_FALSE(limiter.acquire("198.51.100.8").has_value());
  clock.advance(1s);
  EXPECT_FALSE(limiter.acquire("198.51.100.7").has_value());
  EXPECT_TRUE(limiter.acquire("198.51.100.7").has_value());
  // Refill is capped at the burst.
  clock.advance(1h);
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(limiter.acquire("198.51.100.7").has_value()) << i;
  EXPECT_TRUE(limiter.acquire("198.51.100.7").has_value());
}

TEST(RateLimiter, SlowRatesGiveLongerRetryAfter) {
  auto clock = ManualClock::at_unix(1'700'000'000);
  RateLimiter limiter(clock, {2, 1, 100});  // one per 30 s
  EXPECT_FALSE(limiter.acquire("a").has_value());
  auto refused = limiter.acquire("a");
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(*refused, 30s);
  clock.advance(10s);
  EXPECT_EQ(limiter.acquire("a"), std::optional<std::chrono::seconds>(20s));
  // A clock that steps back adds nothing.
  clock.advance(-std::chrono::seconds(100));
  EXPECT_TRUE(limiter.acquire("a").has_value());
}

TEST(RateLimiter, DisabledWithZeroRate) {
  auto clock = ManualClock::at_unix(1'700'000'000);
  RateLimiter limiter(clock, {0, 1, 1});
  EXPECT_FALSE(limiter.enabled());
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(limiter.acquire("a").has_value());
}

TEST(RateLimiter, TheClientTableIsBounded) {
  auto clock = ManualClock::at_unix(1'700'000'000);
  RateLimiter limiter(clock, {60, 2, 3});
  for (const char* client : {"a", "b", "c"}) {
    limiter.acquire(client);
    limiter.acquire(client);
    clock.advance(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(limiter.clients(), 3u);
  EXPECT_TRUE(limiter.acquire("c").has_value());
  // A fourth client evicts the least recently seen ("a"); the table stays at its bound.
  EXPECT_FALSE(limiter.acquire("d").has_value());
  EXPECT_EQ(limiter.clients(), 3u);
  EXPECT_TRUE(limiter.acquire("c").has_value());  // still tracked: still limited
}

}  // namespace
}  // namespace cloister::attest

#include "nonce_issuer.h"

#include "cloister/attestation/runtime_data.h"
#include "cloister/crypto/random.h"
#include "service_test_support.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

namespace cloister::attest {
namespace {

using namespace std::chrono_literals;

Sensitive<crypto::Bytes> key() { return Sensitive<crypto::Bytes>(crypto::random_bytes(32)); }

TEST(NonceIssuer, IssuesNoncesAcceptedOnceUntilTheyExpire) {
  auto clock = ManualClock::at_unix(1'700'000'000);
  NonceIssuer nonces(clock, 300s, key());
  const auto nonce = nonces.issue();
  EXPECT_TRUE(nonce.starts_with("n1.1700000300."));
  // It fits the runtime data's nonce rules (printable ASCII, at most 256).
  EXPECT_LE(nonce.size(), attestation::runtime_data::kMaxNonceSize);
  EXPECT_TRUE(nonces.check(nonce));
  EXPECT_TRUE(nonces.check(nonce));  // check alone does not consume
  EXPECT_TRUE(nonces.consume(nonce));
  auto again = nonces.consume(nonce);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::nonce_invalid);

  const auto later = nonces.issue();
  EXPECT_NE(later, nonce);
  clock.advance(300s);
  EXPECT_TRUE(nonces.check(later));  // valid through its expiry second
  clock.advance(1s);
  EXPECT_EQ(nonces.consume(later).error().code, ErrorCode::nonce_invalid);
}

TEST(NonceIssuer, RefusesForgedAndMalformedNonces) {
  auto clock = ManualClock::at_unix(1'700'000'000);
  NonceIssuer nonces(clock, 300s, key());
  const auto nonce = nonces.issue();
  // Extending the expiry breaks the MAC.
  auto extended = nonce;
  extended.replace(3, 10, "1900000000");
  std::string flipped = nonce;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  NonceIssuer other(clock, 300s, key());
  for (const std::string& bad : {extended, flipped, other.issue(), std::string("n1...."), std::string("hello"),
                                 std::string(), std::string("n1.x.y.z"), nonce + ".extra", std::string(200, 'n')}) {
    auto result = nonces.consume(bad);
    ASSERT_FALSE(result) << bad;
    EXPECT_EQ(result.error().code, ErrorCode::nonce_invalid) << bad;
  }
  EXPECT_TRUE(nonces.consume(nonce));
}

TEST(NonceIssuer, TheKeyPersistsSoNoncesSurviveARestart) {
  test::TempDir dir;
  auto clock = ManualClock::at_unix(1'700'000'000);
  auto first_key = NonceIssuer::load_or_create_key(dir.path() / "nonce-key");
  ASSERT_TRUE(first_key) << first_key.error().to_string();
  struct stat info {};
  ASSERT_EQ(::stat((dir.path() / "nonce-key").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  NonceIssuer before(clock, 300s, std::move(*first_key));
  const auto nonce = before.issue();
  NonceIssuer after(clock, 300s, NonceIssuer::load_or_create_key(dir.path() / "nonce-key").value());
  EXPECT_TRUE(after.consume(nonce));
}

TEST(NonceIssuer, TheUsedSetIsBoundedAndPruned) {
  auto clock = ManualClock::at_unix(1'700'000'000);
  NonceIssuer nonces(clock, 60s, key(), /*max_used=*/2);
  EXPECT_TRUE(nonces.consume(nonces.issue()));
  EXPECT_TRUE(nonces.consume(nonces.issue()));
  // Full of unexpired used nonces: refuses rather than forget one (which would allow a replay).
  auto full = nonces.consume(nonces.issue());
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, ErrorCode::too_many_requests);
  EXPECT_EQ(nonces.used_count(), 2u);
  // Once those expire they are pruned and room returns.
  clock.advance(61s);
  EXPECT_TRUE(nonces.consume(nonces.issue()));
  EXPECT_EQ(nonces.used_count(), 1u);
}

}  // namespace
}  // namespace cloister::attest

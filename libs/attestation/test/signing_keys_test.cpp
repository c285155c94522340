#include "cloister/attestation/signing_keys.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "cloister/crypto/base64.h"
#include "cloister/crypto/hash.h"
#include "test_support.h"

namespace cloister::attestation {
namespace {

using namespace std::chrono_literals;

unsigned mode_of(const std::filesystem::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return 0xffff;
  return info.st_mode & 0777;
}

std::vector<std::string> kids_of(const nlohmann::json& jwks) {
  std::vector<std::string> kids;
  for (const auto& key : jwks.at("keys")) kids.push_back(key.at("kid").get<std::string>());
  return kids;
}

// RFC 7638 §3.2, computed here independently of the library: SHA-256 over the required members in
// lexicographic order, no whitespace, then base64url.
std::string rfc7638_thumbprint(const nlohmann::json& jwk) {
  const std::string canonical = R"({"crv":")" + jwk.at("crv").get<std::string>() + R"(","kty":")" +
                                jwk.at("kty").get<std::string>() + R"(","x":")" + jwk.at("x").get<std::string>() +
                                R"(","y":")" + jwk.at("y").get<std::string>() + R"("})";
  return crypto::base64url_encode(crypto::sha256(crypto::as_bytes(canonical)));
}

class SigningKeysTest : public ::testing::Test {
 protected:
  test::TempDir root_;
  std::filesystem::path directory_ = root_.path() / "keys";
  ManualClock clock_ = ManualClock(Clock::time_point(std::chrono::seconds(1'700'000'000)));
};

TEST_F(SigningKeysTest, FirstOpenGeneratesOwnerOnlyFiles) {
  auto keys = SigningKeys::open(directory_, clock_);
  ASSERT_TRUE(keys) << keys.error().to_string();
  const std::string kid = keys->current_kid();
  EXPECT_EQ(mode_of(directory_), 0700u);
  EXPECT_EQ(mode_of(directory_ / "keys.json"), 0600u);
  EXPECT_EQ(mode_of(directory_ / (kid + ".pem")), 0600u);

  auto jwks = keys->jwks();
  ASSERT_EQ(jwks.at("keys").size(), 1u);
  const auto& jwk = jwks.at("keys")[0];
  EXPECT_EQ(jwk.at("kid"), kid);
  EXPECT_EQ(jwk.at("kty"), "EC");
  EXPECT_EQ(jwk.at("crv"), "P-256");
  EXPECT_EQ(jwk.at("alg"), "ES256");
  EXPECT_EQ(jwk.at("use"), "sig");
  EXPECT_FALSE(jwk.contains("d"));
  EXPECT_EQ(kid, rfc7638_thumbprint(jwk));
  EXPECT_EQ(keys->current()->public_key, keys->current()->private_key.public_key());
}

TEST_F(SigningKeysTest, RestartLoadsTheSameKey) {
  std::string kid;
  nlohmann::json jwks;
  {
    auto keys = SigningKeys::open(directory_, clock_);
    ASSERT_TRUE(keys);
    kid = keys->current_kid();
    jwks = keys->jwks();
  }
  auto reopened = SigningKeys::open(directory_, clock_);
  ASSERT_TRUE(reopened) << reopened.error().to_string();
  EXPECT_EQ(reopened->current_kid(), kid);
  EXPECT_EQ(reopened->jwks(), jwks);
}

TEST_F(SigningKeysTest, RotationKeepsTheOldKeyUntilRetentionPasses) {
  auto keys = SigningKeys::open(directory_, clock_, 3600s);
  ASSERT_TRUE(keys);
  const std::string old_kid = keys->current_kid();
  clock_.advance(10s);
  ASSERT_TRUE(keys->rotate());
  const std::string new_kid = keys->current_kid();
  EXPECT_NE(new_kid, old_kid);
  EXPECT_EQ(kids_of(keys->jwks()), (std::vector<std::string>{new_kid, old_kid}));
  EXPECT_EQ(mode_of(directory_ / (new_kid + ".pem")), 0600u);

  // A restart within retention: same current key, both published.
  clock_.advance(3599s);
  {
    auto reopened = SigningKeys::open(directory_, clock_, 3600s);
    ASSERT_TRUE(reopened) << reopened.error().to_string();
    EXPECT_EQ(reopened->current_kid(), new_kid);
    EXPECT_EQ(kids_of(reopened->jwks()), (std::vector<std::string>{new_kid, old_kid}));
  }
  // Past retention: the old key leaves the JWKS at once and its file at the next open or rotation.
  clock_.advance(1s);
  EXPECT_EQ(kids_of(keys->jwks()), (std::vector<std::string>{new_kid}));
  auto reopened = SigningKeys::open(directory_, clock_, 3600s);
  ASSERT_TRUE(reopened);
  EXPECT_EQ(kids_of(reopened->jwks()), (std::vector<std::string>{new_kid}));
  EXPECT_FALSE(std::filesystem::exists(directory_ / (old_kid + ".pem")));
  EXPECT_TRUE(std::filesystem::exists(directory_ / (new_kid + ".pem")));
}

TEST_F(SigningKeysTest, RefusesGroupReadableFiles) {
  std::string kid;
  {
    auto keys = SigningKeys::open(directory_, clock_);
    ASSERT_TRUE(keys);
    kid = keys->current_kid();
  }
  ::chmod((directory_ / (kid + ".pem")).c_str(), 0644);
  EXPECT_EQ(SigningKeys::open(directory_, clock_).error().code, ErrorCode::config_invalid);
  ::chmod((directory_ / (kid + ".pem")).c_str(), 0600);
  ASSERT_TRUE(SigningKeys::open(directory_, clock_));
  ::chmod(directory_.c_str(), 0755);
  EXPECT_EQ(SigningKeys::open(directory_, clock_).error().code, ErrorCode::config_invalid);
}

TEST_F(SigningKeysTest, RefusesAKeyFileThatIsNotTheKeyItsNameSays) {
  std::string kid;
  {
    auto keys = SigningKeys::open(directory_, clock_);
    ASSERT_TRUE(keys);
    kid = keys->current_kid();
  }
  const auto path = directory_ / (kid + ".pem");
  std::ofstream(path, std::ios::trunc) << crypto::PrivateKey::generate(crypto::KeyType::ec_p256).pem().reveal();
  EXPECT_EQ(SigningKeys::open(directory_, clock_).error().code, ErrorCode::config_invalid);
}

TEST_F(SigningKeysTest, RefusesAMalformedManifest) {
  ASSERT_TRUE(SigningKeys::open(directory_, clock_));
  const auto manifest = directory_ / "keys.json";
  const std::string traversal = R"({"current":"../../etc/passwd","keys":[{"kid":"../../etc/passwd","created_at":1}]})";
  for (const std::string text : {"not json", "{}", R"({"current":"x","keys":[]})", traversal.c_str()}) {
    std::ofstream(manifest, std::ios::trunc) << text;
    auto keys = SigningKeys::open(directory_, clock_);
    ASSERT_FALSE(keys) << text;
    EXPECT_EQ(keys.error().code, ErrorCode::config_invalid) << text;
  }
}

TEST_F(SigningKeysTest, ScheduledRotationPrepublishesTheNextKeyThenRotates) {
  auto keys = SigningKeys::open(directory_, clock_, 7200s);
  ASSERT_TRUE(keys);
  const std::string first = keys->current_kid();
  EXPECT_EQ(keys->current_activated_at(), 1'700'000'000);
  // Period 0: never.
  EXPECT_EQ(keys->rotate_if_due(0s, 0s).value(), false);

  // Before the pre-publication window: nothing happens.
  clock_.advance(3000s);
  EXPECT_EQ(keys->rotate_if_due(3600s, 300s).value(), false);
  EXPECT_FALSE(keys->next_kid().has_value());
  EXPECT_EQ(kids_of(keys->jwks()), (std::vector<std::string>{first}));

  // Inside it: the next key is published but does not sign yet; a restart keeps it.
  clock_.advance(400s);
  EXPECT_EQ(keys->rotate_if_due(3600s, 300s).value(), false);
  ASSERT_TRUE(keys->next_kid().has_value());
  const std::string second = *keys->next_kid();
  EXPECT_EQ(keys->current_kid(), first);
  EXPECT_EQ(kids_of(keys->jwks()), (std::vector<std::string>{first, second}));
  EXPECT_EQ(keys->rotate_if_due(3600s, 300s).value(), false);
  EXPECT_EQ(keys->next_kid(), second);  // published once
  {
    auto reopened = SigningKeys::open(directory_, clock_, 7200s);
    ASSERT_TRUE(reopened) << reopened.error().to_string();
    EXPECT_EQ(reopened->current_kid(), first);
    EXPECT_EQ(reopened->next_kid(), second);
  }

  // Due: the published key signs, the old one stays published for the retention period.
  clock_.advance(200s);
  EXPECT_EQ(keys->rotate_if_due(3600s, 300s).value(), true);
  EXPECT_EQ(keys->current_kid(), second);
  EXPECT_FALSE(keys->next_kid().has_value());
  EXPECT_EQ(keys->current_activated_at(), 1'700'003'600);
  EXPECT_EQ(kids_of(keys->jwks()), (std::vector<std::string>{second, first}));

  // The next period counts from the activation; the old key leaves after retention (7200 s).
  clock_.advance(3599s);
  EXPECT_EQ(keys->rotate_if_due(3600s, 300s).value(), false);
  ASSERT_TRUE(keys->next_kid().has_value());
  const std::string third = *keys->next_kid();
  EXPECT_EQ(kids_of(keys->jwks()), (std::vector<std::string>{second, third, first}));
  clock_.advance(1s);
  EXPECT_EQ(keys->rotate_if_due(3600s, 300s).value(), true);
  EXPECT_EQ(keys->current_kid(), third);
  EXPECT_EQ(kids_of(keys->jwks()), (std::vector<std::string>{third, second, first}));
  clock_.advance(3600s);
  EXPECT_EQ(keys->rotate_if_due(36000s, 300s).value(), false);
  EXPECT_EQ(kids_of(keys->jwks()), (std::vector<std::string>{third, second}));
  EXPECT_FALSE(std::filesystem::exists(directory_ / (first + ".pem")));
}

TEST_F(SigningKeysTest, ReadsTheOlderManifestLayout) {
  std::string kid;
  {
    auto keys = SigningKeys::open(directory_, clock_);
    ASSERT_TRUE(keys);
    kid = keys->current_kid();
  }
  const auto manifest = directory_ / "keys.json";
  std::ofstream(manifest, std::ios::trunc) << R"({"current":")" << kid << R"(","keys":[{"kid":")" << kid
                                           << R"(","created_at":1600000000,"retired_at":null}]})";
  auto keys = SigningKeys::open(directory_, clock_);
  ASSERT_TRUE(keys) << keys.error().to_string();
  EXPECT_EQ(keys->current_activated_at(), 1'600'000'000);
  EXPECT_FALSE(keys->next_kid().has_value());
  // Long overdue: rotates at once.
  EXPECT_EQ(keys->rotate_if_due(3600s, 300s).value(), true);
  EXPECT_NE(keys->current_kid(), kid);
}

}  // namespace
}  // namespace cloister::attestation

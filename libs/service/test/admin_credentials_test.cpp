// AdminCredentials (shared by cloister-attest and cloister-keys): generated and configured bearer
// credentials, stored as digests only, compared in constant time.
#include "cloister/service/admin_credentials.h"

#include "cloister/core/temp_dir.h"
#include "cloister/crypto/random.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include <fstream>

namespace cloister::service {
namespace {

using cloister::TempDir;

unsigned mode_of(const std::filesystem::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return 0xffff;
  return info.st_mode & 0777;
}

std::string read_token(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string token;
  std::getline(in, token);
  return token;
}

TEST(AdminCredentials, FirstStartGeneratesATokenFileAndKeepsOnlyItsDigest) {
  TempDir dir;
  auto admin = AdminCredentials::open(nlohmann::json::array(), dir.path());
  ASSERT_TRUE(admin) << admin.error().to_string();
  EXPECT_EQ(admin->generated_token_path(), dir.path() / "admin-token");
  EXPECT_EQ(mode_of(dir.path() / "admin-token"), 0600u);
  EXPECT_EQ(mode_of(dir.path() / "admin-credentials.json"), 0600u);
  const auto token = read_token(dir.path() / "admin-token");
  ASSERT_TRUE(token.starts_with("cla_"));
  EXPECT_EQ(admin->authenticate("Bearer " + token).value(), "admin");
  // The credentials file holds the digest, not the token.
  std::ifstream in(dir.path() / "admin-credentials.json");
  std::string stored((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(stored.find(token), std::string::npos);
  EXPECT_NE(stored.find(AdminCredentials::digest_hex(token)), std::string::npos);

  // A restart loads the digest and generates nothing; the token still works even once its file is gone.
  std::filesystem::remove(dir.path() / "admin-token");
  auto reopened = AdminCredentials::open(nlohmann::json::array(), dir.path());
  ASSERT_TRUE(reopened);
  EXPECT_TRUE(reopened->generated_token_path().empty());
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "admin-token"));
  EXPECT_EQ(reopened->authenticate("Bearer " + token).value(), "admin");
}

TEST(AdminCredentials, RefusesMissingMalformedAndWrongCredentials) {
  TempDir dir;
  auto admin = AdminCredentials::open(nlohmann::json::array(), dir.path()).value();
  const auto token = read_token(dir.path() / "admin-token");
  for (const std::optional<std::string_view> header :
       {std::optional<std::string_view>(), std::optional<std::string_view>("Bearer"),
        std::optional<std::string_view>("Basic YWRtaW46YWRtaW4="), std::optional<std::string_view>("Bearer wrong"),
        std::optional<std::string_view>("Attestation " + token)}) {
    auto result = admin.authenticate(header);
    ASSERT_FALSE(result) << (header ? *header : "(none)");
    EXPECT_EQ(result.error().code, ErrorCode::unauthenticated);
    // The detail never echoes what was presented.
    EXPECT_EQ(result.error().detail.find(token), std::string::npos);
  }
  auto altered = token;
  altered.back() = altered.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(admin.authenticate("Bearer " + altered));
  EXPECT_TRUE(admin.authenticate("bearer " + token));  // the scheme is case-insensitive
  EXPECT_FALSE(admin.authenticate("Bearer " + std::string(300, 'a')));
}

TEST(AdminCredentials, ConfiguredCredentialsNameWhoChanged) {
  TempDir dir;
  const auto alice = AdminCredentials::generate_token();
  const auto bob = AdminCredentials::generate_token();
  ASSERT_NE(alice, bob);
  nlohmann::json configured = {{{"name", "alice"}, {"sha256", AdminCredentials::digest_hex(alice)}},
                               {{"name", "bob@ops"}, {"sha256", AdminCredentials::digest_hex(bob)}}};
  auto admin = AdminCredentials::open(configured, dir.path());
  ASSERT_TRUE(admin) << admin.error().to_string();
  EXPECT_EQ(admin->authenticate("Bearer " + alice).value(), "alice");
  EXPECT_EQ(admin->authenticate("Bearer " + bob).value(), "bob@ops");
  // Nothing is generated when credentials are configured.
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "admin-token"));

  for (const nlohmann::json& invalid :
       std::vector<nlohmann::json>{{{{"name", "x"}}},
                                   {{{"name", "x"}, {"sha256", "abcd"}}},
                                   {{{"name", "has space"}, {"sha256", std::string(64, 'a')}}},
                                   {{{"name", "x"}, {"sha256", std::string(64, 'a')}},
                                    {{"name", "x"}, {"sha256", std::string(64, 'b')}}},
                                   "not a list"}) {
    auto refused = AdminCredentials::open(invalid, dir.path());
    ASSERT_FALSE(refused) << invalid.dump();
    EXPECT_EQ(refused.error().code, ErrorCode::config_invalid) << invalid.dump();
  }
}

}  // namespace
}  // namespace cloister::service

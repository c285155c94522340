// EncryptedCache against a real redis-server over TLS: Redis holds only ciphertext bound to its key
// name and purpose.

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "cloister/crypto/random.h"
#include "cloister/redis/encrypted_cache.h"
#include "cloister/redis/testing/redis_test_server.h"

namespace cloister::redis {
namespace {

using testing::RedisTestServer;
using namespace std::chrono_literals;

class EncryptedCacheTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto started = RedisTestServer::start();
    ASSERT_TRUE(started.has_value()) << started.error().to_string();
    server_ = std::move(*started).release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(server_, nullptr) << "redis-server did not start";
    auto client = Client::create(server_->admin_options());
    ASSERT_TRUE(client.has_value()) << client.error().to_string();
    client_ = std::move(*client);
    data_key_ = crypto::random_bytes(32);
  }

  std::string raw_get(const std::string& key) { return client_->command({"GET", key}).value().string; }

  static RedisTestServer* server_;
  std::unique_ptr<Client> client_;
  crypto::Bytes data_key_;
};
RedisTestServer* EncryptedCacheTest::server_ = nullptr;

bool contains(const std::string& haystack, std::string_view needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) != haystack.end();
}

TEST_F(EncryptedCacheTest, RoundTripAndAbsent) {
  EncryptedCache cache(*client_, Sensitive<crypto::Bytes>(data_key_), "platform:");
  const std::string plaintext = "patient 4711: diagnosis pending";
  ASSERT_TRUE(cache.put("report:1", "report", crypto::as_bytes(plaintext), 60s).has_value());
  auto value = cache.get("report:1", "report");
  ASSERT_TRUE(value.has_value()) << value.error().to_string();
  ASSERT_TRUE(value->has_value());
  EXPECT_EQ(crypto::to_string(**value), plaintext);

  auto absent = cache.get("report:2", "report");
  ASSERT_TRUE(absent.has_value());
  EXPECT_FALSE(absent->has_value());

  // Empty and binary values.
  ASSERT_TRUE(cache.put("empty", "p", {}, 60s).has_value());
  EXPECT_TRUE(cache.get("empty", "p").value().value().empty());
  auto binary = crypto::random_bytes(4096);
  ASSERT_TRUE(cache.put("binary", "p", binary, 60s).has_value());
  EXPECT_EQ(cache.get("binary", "p").value().value(), binary);

  ASSERT_TRUE(cache.remove("report:1").has_value());
  EXPECT_FALSE(cache.get("report:1", "report").value().has_value());
  EXPECT_TRUE(cache.remove("report:1").has_value());  // absent: fine
}

TEST_F(EncryptedCacheTest, RedisHoldsOnlyCiphertext) {
  EncryptedCache cache(*client_, Sensitive<crypto::Bytes>(data_key_), "platform:");
  const std::string plaintext = "SECRET-PHI-MARKER-0123456789";
  ASSERT_TRUE(cache.put("phi", "report", crypto::as_bytes(plaintext), 60s).has_value());
  std::string stored = raw_get("platform:phi");
  EXPECT_EQ(stored.size(), 1 + 12 + plaintext.size() + 16);
  EXPECT_EQ(static_cast<unsigned char>(stored[0]), 0x01);
  EXPECT_FALSE(contains(stored, plaintext));
  EXPECT_FALSE(contains(stored, "SECRET"));
  // A fresh nonce each time: the same plaintext never gives the same stored value.
  ASSERT_TRUE(cache.put("phi", "report", crypto::as_bytes(plaintext), 60s).has_value());
  EXPECT_NE(raw_get("platform:phi"), stored);
}

TEST_F(EncryptedCacheTest, ValueMovedToAnotherKeyFailsToDecrypt) {
  EncryptedCache cache(*client_, Sensitive<crypto::Bytes>(data_key_), "platform:");
  ASSERT_TRUE(cache.put("alice", "report", crypto::as_bytes("alice's report"), 60s).has_value());
  std::string stored = raw_get("platform:alice");
  ASSERT_TRUE(client_->command({"SET", "platform:bob", stored}).has_value());
  auto moved = cache.get("bob", "report");
  ASSERT_FALSE(moved.has_value());
  EXPECT_EQ(moved.error().code, ErrorCode::cache_value_invalid);
  // The same name under another prefix is another key too.
  EncryptedCache other_prefix(*client_, Sensitive<crypto::Bytes>(data_key_), "other:");
  ASSERT_TRUE(client_->command({"SET", "other:alice", stored}).has_value());
  EXPECT_EQ(other_prefix.get("alice", "report").error().code, ErrorCode::cache_value_invalid);
  // The original still decrypts.
  EXPECT_EQ(crypto::to_string(cache.get("alice", "report").value().value()), "alice's report");
}

TEST_F(EncryptedCacheTest, WrongPurposeOrKeyFails) {
  EncryptedCache cache(*client_, Sensitive<crypto::Bytes>(data_key_), "platform:");
  ASSERT_TRUE(cache.put("item", "session", crypto::as_bytes("value"), 60s).has_value());
  auto wrong_purpose = cache.get("item", "report");
  ASSERT_FALSE(wrong_purpose.has_value());
  EXPECT_EQ(wrong_purpose.error().code, ErrorCode::cache_value_invalid);
  EncryptedCache other_key(*client_, Sensitive<crypto::Bytes>(crypto::random_bytes(32)), "platform:");
  EXPECT_EQ(other_key.get("item", "session").error().code, ErrorCode::cache_value_invalid);
  EncryptedCache short_key(*client_, Sensitive<crypto::Bytes>(crypto::random_bytes(16)), "platform:");
  EXPECT_EQ(short_key.get("item", "session").error().code, ErrorCode::bad_key);
  EXPECT_EQ(short_key.put("item", "session", crypto::as_bytes("v"), 1s).error().code, ErrorCode::bad_key);
}

TEST_F(EncryptedCacheTest, TamperedOrMalformedValuesAreInvalid) {
  EncryptedCache cache(*client_, Sensitive<crypto::Bytes>(data_key_), "platform:");
  ASSERT_TRUE(cache.put("t", "p", crypto::as_bytes("some value"), 60s).has_value());
  std::string stored = raw_get("platform:t");
  for (std::size_t position : {std::size_t{1}, std::size_t{13}, stored.size() - 1}) {
    std::string tampered = stored;
    tampered[position] = static_cast<char>(tampered[position] ^ 0x01);
    ASSERT_TRUE(client_->command({"SET", "platform:t", tampered}).has_value());
    EXPECT_EQ(cache.get("t", "p").error().code, ErrorCode::cache_value_invalid) << position;
  }
  std::string wrong_version = stored;
  wrong_version[0] = 0x02;
  for (const std::string& bad : {std::string("x"), std::string(), stored.substr(0, 28), wrong_version}) {
    ASSERT_TRUE(client_->command({"SET", "platform:t", bad}).has_value());
    EXPECT_EQ(cache.get("t", "p").error().code, ErrorCode::cache_value_invalid);
  }
  // Not a string at all: Redis refuses GET on a list.
  ASSERT_TRUE(client_->command({"LPUSH", "platform:list", "x"}).has_value());
  EXPECT_EQ(cache.get("list", "p").error().code, ErrorCode::redis_error);
}

TEST_F(EncryptedCacheTest, TtlIsHonoured) {
  EncryptedCache cache(*client_, Sensitive<crypto::Bytes>(data_key_), "platform:");
  ASSERT_TRUE(cache.put("ttl", "p", crypto::as_bytes("v"), 60000ms).has_value());
  auto pttl = client_->command({"PTTL", "platform:ttl"});
  ASSERT_TRUE(pttl.has_value());
  EXPECT_GT(pttl->integer, 0);
  EXPECT_LE(pttl->integer, 60000);
  ASSERT_TRUE(cache.put("forever", "p", crypto::as_bytes("v"), 0ms).has_value());
  EXPECT_EQ(client_->command({"PTTL", "platform:forever"}).value().integer, -1);
  EXPECT_EQ(cache.put("negative", "p", crypto::as_bytes("v"), -1ms).error().code, ErrorCode::invalid_argument);
  // An expired value is absent.
  ASSERT_TRUE(cache.put("short", "p", crypto::as_bytes("v"), 1ms).has_value());
  bool gone = false;
  for (int attempt = 0; attempt < 200 && !gone; ++attempt) {
    auto value = cache.get("short", "p");
    ASSERT_TRUE(value.has_value());
    gone = !value->has_value();
    if (!gone) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(gone);
}

TEST_F(EncryptedCacheTest, NulBytesInNameOrPurposeAreRefused) {
  EncryptedCache cache(*client_, Sensitive<crypto::Bytes>(data_key_), "platform:");
  EXPECT_EQ(cache.put(std::string_view("a\0b", 3), "p", crypto::as_bytes("v"), 1s).error().code,
            ErrorCode::invalid_argument);
  EXPECT_EQ(cache.get("a", std::string_view("p\0q", 3)).error().code, ErrorCode::invalid_argument);
}

TEST_F(EncryptedCacheTest, ReportsRedisErrors) {
  // A user confined to another prefix: the cache surfaces Redis' NOPERM as redis_error.
  ASSERT_TRUE(client_->command({"ACL", "SETUSER", "cacheuser", "on", ">pw", "~elsewhere:*", "resetchannels", "-@all",
                                "+get", "+set", "+del"})
                  .has_value());
  auto options = server_->admin_options();
  options.username = "cacheuser";
  options.password = Sensitive<std::string>("pw");
  auto confined = Client::create(options);
  ASSERT_TRUE(confined.has_value()) << confined.error().to_string();
  EncryptedCache cache(**confined, Sensitive<crypto::Bytes>(data_key_), "platform:");
  auto put = cache.put("x", "p", crypto::as_bytes("v"), 1s);
  ASSERT_FALSE(put.has_value());
  EXPECT_EQ(put.error().code, ErrorCode::redis_error);
  EXPECT_TRUE(put.error().detail.starts_with("NOPERM"));
}

}  // namespace
}  // namespace cloister::redis

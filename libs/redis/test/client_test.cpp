// The client against a real redis-server over TLS (RedisTestServer): no mocks.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "cloister/crypto/keys.h"
#include "cloister/crypto/x509.h"
#include "cloister/redis/client.h"
#include "cloister/redis/testing/redis_test_server.h"

namespace cloister::redis {
namespace {

using testing::RedisTestServer;
using namespace std::chrono_literals;

class ClientTest : public ::testing::Test {
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
  void SetUp() override { ASSERT_NE(server_, nullptr) << "redis-server did not start"; }

  std::unique_ptr<Client> admin(ClientOptions options) {
    auto client = Client::create(std::move(options));
    EXPECT_TRUE(client.has_value()) << client.error().to_string();
    return client ? std::move(*client) : nullptr;
  }
  std::unique_ptr<Client> admin() { return admin(server_->admin_options()); }

  static RedisTestServer* server_;
};
RedisTestServer* ClientTest::server_ = nullptr;

std::string all_bytes() {
  std::string value;
  for (int i = 0; i < 256; ++i) value.push_back(static_cast<char>(i));
  return value + "\r\n$-1\r\n*0\r\n";
}

TEST_F(ClientTest, SetGetDelAreBinarySafe) {
  auto client = admin();
  ASSERT_TRUE(client);
  const std::string key = std::string("bin\0key\r\n", 9);
  const std::string value = all_bytes();
  auto set = client->command({"SET", key, value});
  ASSERT_TRUE(set.has_value()) << set.error().to_string();
  EXPECT_TRUE(set->is_ok());
  auto get = client->command({"GET", key});
  ASSERT_TRUE(get.has_value());
  EXPECT_EQ(get->type, Reply::Type::bulk_string);
  EXPECT_EQ(get->string, value);
  auto del = client->command({"DEL", key});
  ASSERT_TRUE(del.has_value());
  EXPECT_EQ(del->type, Reply::Type::integer);
  EXPECT_EQ(del->integer, 1);
  get = client->command({"GET", key});
  ASSERT_TRUE(get.has_value());
  EXPECT_TRUE(get->is_null());
  EXPECT_EQ(client->open_connections(), 1u);
}

TEST_F(ClientTest, LargeValuesSpanManyReads) {
  auto client = admin();
  ASSERT_TRUE(client);
  std::string value(5 * 1024 * 1024 + 3, '\0');
  for (std::size_t i = 0; i < value.size(); ++i) value[i] = static_cast<char>((i * 7919) >> 3);
  ASSERT_TRUE(client->command({"SET", "large", value}).has_value());
  auto get = client->command({"GET", "large"});
  ASSERT_TRUE(get.has_value());
  EXPECT_EQ(get->string.size(), value.size());
  EXPECT_TRUE(get->string == value);
}

TEST_F(ClientTest, PipelinesAThousandCommands) {
  auto client = admin();
  ASSERT_TRUE(client);
  std::vector<std::vector<std::string>> commands;
  commands.push_back({"DEL", "counter"});
  for (int i = 0; i < 1000; ++i) commands.push_back({"INCR", "counter"});
  auto replies = client->pipeline(commands);
  ASSERT_TRUE(replies.has_value()) << replies.error().to_string();
  ASSERT_EQ(replies->size(), 1001u);
  for (int i = 1; i <= 1000; ++i) {
    ASSERT_EQ((*replies)[static_cast<std::size_t>(i)].type, Reply::Type::integer);
    EXPECT_EQ((*replies)[static_cast<std::size_t>(i)].integer, i);
  }
  auto get = client->command({"GET", "counter"});
  ASSERT_TRUE(get.has_value());
  EXPECT_EQ(get->string, "1000");
  EXPECT_TRUE(client->pipeline({}).value().empty());
}

TEST_F(ClientTest, ErrorRepliesInAPipelineAreReplies) {
  auto client = admin();
  ASSERT_TRUE(client);
  auto replies = client->pipeline({{"SET", "text", "abc"}, {"INCR", "text"}, {"GET", "text"}});
  ASSERT_TRUE(replies.has_value());
  ASSERT_EQ(replies->size(), 3u);
  EXPECT_TRUE((*replies)[0].is_ok());
  EXPECT_EQ((*replies)[1].type, Reply::Type::error);
  EXPECT_NE((*replies)[1].string.find("not an integer"), std::string::npos);
  EXPECT_EQ((*replies)[2].string, "abc");
}

TEST_F(ClientTest, ErrorReplyIsRedisError) {
  auto client = admin();
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->command({"SET", "text", "abc"}).has_value());
  auto incr = client->command({"INCR", "text"});
  ASSERT_FALSE(incr.has_value());
  EXPECT_EQ(incr.error().code, ErrorCode::redis_error);
  EXPECT_NE(incr.error().detail.find("ERR value is not an integer"), std::string::npos) << incr.error().detail;
  auto unknown = client->command({"NOSUCHCOMMAND"});
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code, ErrorCode::redis_error);
  // An error reply leaves the connection usable.
  EXPECT_TRUE(client->command({"PING"}).has_value());
  EXPECT_EQ(client->open_connections(), 1u);
  EXPECT_EQ(client->command({}).error().code, ErrorCode::invalid_argument);
}

TEST_F(ClientTest, WrongPasswordIsAuthFailed) {
  auto options = server_->admin_options();
  options.password = Sensitive<std::string>("not-the-password");
  auto client = Client::create(options);
  ASSERT_FALSE(client.has_value());
  EXPECT_EQ(client.error().code, ErrorCode::redis_auth_failed);
  EXPECT_EQ(client.error().detail.find("not-the-password"), std::string::npos);
  options = server_->admin_options();
  options.username = "nobody";
  client = Client::create(options);
  ASSERT_FALSE(client.has_value());
  EXPECT_EQ(client.error().code, ErrorCode::redis_auth_failed);
}

TEST_F(ClientTest, WithoutCredentialsTheDisabledDefaultUserIsRefused) {
  auto options = server_->admin_options();
  options.username.clear();
  options.password = Sensitive<std::string>();
  auto client = Client::create(options);
  ASSERT_FALSE(client.has_value());
  EXPECT_EQ(client.error().code, ErrorCode::redis_auth_failed) << client.error().to_string();
}

TEST_F(ClientTest, WrongCaOrNameIsUnavailable) {
  auto other_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  crypto::CertificateOptions ca_options;
  ca_options.common_name = "Other CA";
  ca_options.is_ca = true;
  ca_options.not_before_unix = 0;
  ca_options.not_after_unix = 4102444800;  // 2100
  auto other_ca = crypto::issue_certificate(other_key.public_key(), ca_options, other_key, nullptr);
  ASSERT_TRUE(other_ca.has_value());
  auto options = server_->admin_options();
  options.ca_pem = other_ca->pem();
  options.max_retries = 1;
  options.backoff_initial = 1ms;
  auto client = Client::create(options);
  ASSERT_FALSE(client.has_value());
  EXPECT_EQ(client.error().code, ErrorCode::redis_unavailable);
  EXPECT_NE(client.error().detail.find("TLS"), std::string::npos) << client.error().detail;

  options = server_->admin_options();
  options.server_name = "redis.example.org";  // not in the certificate
  options.max_retries = 0;
  client = Client::create(options);
  ASSERT_FALSE(client.has_value());
  EXPECT_EQ(client.error().code, ErrorCode::redis_unavailable);

  options = server_->admin_options();
  options.server_name.clear();  // the host, 127.0.0.1, is an IP SAN of the certificate
  auto by_ip = Client::create(options);
  ASSERT_TRUE(by_ip.has_value()) << by_ip.error().to_string();
  EXPECT_TRUE((*by_ip)->command({"PING"}).has_value());
}

TEST_F(ClientTest, PlaintextClientCannotTalkToTheTlsPort) {
  auto options = server_->admin_options();
  options.tls = false;
  options.ca_pem.clear();
  options.server_name.clear();
  options.max_retries = 0;
  options.command_timeout = 2000ms;
  auto client = Client::create(options);
  ASSERT_FALSE(client.has_value());
  EXPECT_EQ(client.error().code, ErrorCode::redis_unavailable);
}

TEST_F(ClientTest, ConnectionRefusedIsUnavailable) {
  // A bound but not listening socket: its port refuses connections while we hold it.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  auto options = server_->admin_options();
  options.port = ntohs(address.sin_port);
  options.max_retries = 2;
  options.backoff_initial = 1ms;
  options.backoff_max = 2ms;
  auto client = Client::create(options);
  ::close(fd);
  ASSERT_FALSE(client.has_value());
  EXPECT_EQ(client.error().code, ErrorCode::redis_unavailable);
}

TEST_F(ClientTest, InvalidOptionsAreConfigInvalid) {
  auto options = server_->admin_options();
  options.pool_size = 0;
  EXPECT_EQ(Client::create(options).error().code, ErrorCode::config_invalid);
  options = server_->admin_options();
  options.ca_pem = "not a certificate";
  EXPECT_EQ(Client::create(options).error().code, ErrorCode::config_invalid);
  options = server_->admin_options();
  options.command_timeout = 0ms;
  EXPECT_EQ(Client::create(options).error().code, ErrorCode::config_invalid);
  options = server_->admin_options();
  options.client_certificate_pem = server_->ca_pem();  // without its key
  EXPECT_EQ(Client::create(options).error().code, ErrorCode::config_invalid);
}

TEST_F(ClientTest, CommandTimeoutDiscardsTheConnectionAndThePoolRecovers) {
  auto pauser = admin();
  ASSERT_TRUE(pauser);
  auto options = server_->admin_options();
  options.command_timeout = 300ms;
  options.max_retries = 0;
  options.pool_size = 2;
  auto client = admin(options);
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->command({"SET", "paused", "value"}).has_value());
  EXPECT_EQ(client->open_connections(), 1u);

  ASSERT_TRUE(pauser->command({"CLIENT", "PAUSE", "1500", "ALL"}).has_value());
  auto get = client->command({"GET", "paused"});
  ASSERT_FALSE(get.has_value());
  EXPECT_EQ(get.error().code, ErrorCode::redis_unavailable);
  EXPECT_NE(get.error().detail.find("command_timeout"), std::string::npos) << get.error().detail;
  EXPECT_EQ(client->open_connections(), 0u);  // the timed-out connection is gone, not pooled

  // Once the pause ends the same client works again (bounded wait, no timing assertion).
  Result<Reply> recovered = fail(ErrorCode::redis_unavailable);
  for (int attempt = 0; attempt < 100 && !recovered; ++attempt) {
    recovered = client->command({"GET", "paused"});
    if (!recovered) {
      EXPECT_EQ(recovered.error().code, ErrorCode::redis_unavailable);
      std::this_thread::sleep_for(100ms);
    }
  }
  ASSERT_TRUE(recovered.has_value()) << recovered.error().to_string();
  EXPECT_EQ(recovered->string, "value");
  EXPECT_EQ(client->open_connections(), 1u);
}

TEST_F(ClientTest, ReconnectsAfterTheServerKillsTheConnection) {
  auto killer = admin();
  ASSERT_TRUE(killer);
  auto client = admin();
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->command({"SET", "survivor", "1"}).has_value());
  auto killed = killer->command({"CLIENT", "KILL", "TYPE", "normal"});  // SKIPME yes: not itself
  ASSERT_TRUE(killed.has_value()) << killed.error().to_string();
  EXPECT_GE(killed->integer, 1);
  auto get = client->command({"GET", "survivor"});
  ASSERT_TRUE(get.has_value()) << get.error().to_string();
  EXPECT_EQ(get->string, "1");
  EXPECT_EQ(client->open_connections(), 1u);
  // The killer's own connection survived.
  EXPECT_TRUE(killer->command({"PING"}).has_value());
}

TEST_F(ClientTest, EightThreadsShareThePool) {
  auto options = server_->admin_options();
  options.pool_size = 4;
  auto client = admin(options);
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->command({"DEL", "shared"}).has_value());
  constexpr int kThreads = 8;
  constexpr int kRounds = 100;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        std::string key = "thread:" + std::to_string(t) + ":" + std::to_string(i);
        std::string value = std::to_string(t * 100000 + i);
        auto set = client->command({"SET", key, value});
        auto get = client->command({"GET", key});
        auto incr = client->pipeline({{"INCR", "shared"}, {"GET", key}});
        if (!set || !get || get->string != value || !incr || incr->size() != 2 || (*incr)[1].string != value) {
          failures.fetch_add(1);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  auto shared = client->command({"GET", "shared"});
  ASSERT_TRUE(shared.has_value());
  EXPECT_EQ(shared->string, std::to_string(kThreads * kRounds));
  EXPECT_LE(client->open_connections(), options.pool_size);
  EXPECT_GE(client->open_connections(), 1u);
}

TEST_F(ClientTest, AclUserIsConfinedToItsPrefix) {
  auto admin_client = admin();
  ASSERT_TRUE(admin_client);
  auto setuser = admin_client->command(
      {"ACL", "SETUSER", "limited", "on", ">limited-pw", "~p:*", "resetchannels", "-@all", "+get", "+set", "+del"});
  ASSERT_TRUE(setuser.has_value()) << setuser.error().to_string();
  auto options = server_->admin_options();
  options.username = "limited";
  options.password = Sensitive<std::string>("limited-pw");
  auto limited = admin(options);
  ASSERT_TRUE(limited);
  EXPECT_TRUE(limited->command({"SET", "p:one", "1"}).has_value());
  EXPECT_EQ(limited->command({"GET", "p:one"}).value().string, "1");
  auto outside = limited->command({"SET", "q:one", "1"});
  ASSERT_FALSE(outside.has_value());
  EXPECT_EQ(outside.error().code, ErrorCode::redis_error);
  EXPECT_TRUE(outside.error().detail.starts_with("NOPERM")) << outside.error().detail;
  auto not_allowed = limited->command({"INCR", "p:one"});
  ASSERT_FALSE(not_allowed.has_value());
  EXPECT_TRUE(not_allowed.error().detail.starts_with("NOPERM")) << not_allowed.error().detail;

  // Removing the user closes its connections; the reconnect's AUTH is refused.
  ASSERT_TRUE(admin_client->command({"ACL", "DELUSER", "limited"}).has_value());
  auto after = limited->command({"GET", "p:one"});
  ASSERT_FALSE(after.has_value());
  EXPECT_EQ(after.error().code, ErrorCode::redis_auth_failed) << after.error().to_string();
}

TEST_F(ClientTest, Resp3RepliesAreMapped) {
  auto options = server_->admin_options();
  options.pool_size = 1;
  auto client = admin(options);
  ASSERT_TRUE(client);
  // HELLO 3 switches this (only) pooled connection to RESP3; its map reply is key, value, ...
  auto hello = client->command({"HELLO", "3"});
  ASSERT_TRUE(hello.has_value()) << hello.error().to_string();
  ASSERT_EQ(hello->type, Reply::Type::array);
  bool saw_proto = false;
  for (std::size_t i = 0; i + 1 < hello->elements.size(); i += 2) {
    if (hello->elements[i].string == "proto") {
      saw_proto = true;
      EXPECT_EQ(hello->elements[i + 1].integer, 3);
    }
  }
  EXPECT_TRUE(saw_proto);
  EXPECT_TRUE(client->command({"GET", "resp3:absent"}).value().is_null());  // RESP3 null
  ASSERT_TRUE(client->command({"ZADD", "resp3:z", "1.5", "member"}).has_value());
  auto score = client->command({"ZSCORE", "resp3:z", "member"});  // RESP3 double
  ASSERT_TRUE(score.has_value());
  EXPECT_EQ(score->type, Reply::Type::bulk_string);
  EXPECT_EQ(score->string, "1.5");
  ASSERT_TRUE(client->command({"HSET", "resp3:h", "field", "value"}).has_value());
  auto map = client->command({"HGETALL", "resp3:h"});  // RESP3 map
  ASSERT_TRUE(map.has_value());
  ASSERT_EQ(map->elements.size(), 2u);
  EXPECT_EQ(map->elements[0].string, "field");
  EXPECT_EQ(map->elements[1].string, "value");
  EXPECT_EQ(client->open_connections(), 1u);
}

}  // namespace
}  // namespace cloister::redis

// Attested Redis against a real redis-server over TLS (RedisTestServer; no mocks): issued ACL users
// read and write their prefix and nothing else, expire (AUTH refused, open connections dropped),
// survive a restart of the issuer in its record, the sealed POST /redis/credentials route with real
// tokens and the real CallerAuth, and the must-show: with the encrypted cache over an issued user,
// neither the RDB dump (`redis-cli --rdb`) nor MONITOR output holds the cached plaintext.
#include "redis_credentials.h"

#include "key_service.h"
#include "test_support.h"

#include "cloister/core/log.h"
#include "cloister/core/private_files.h"
#include "cloister/core/process.h"
#include "cloister/crypto/base64.h"
#include "cloister/crypto/hpke.h"
#include "cloister/crypto/random.h"
#include "cloister/redis/encrypted_cache.h"
#include "cloister/redis/testing/redis_test_server.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <sys/stat.h>

#include <regex>
#include <thread>

namespace cloister::keys {
namespace {

using redis::testing::RedisTestServer;
using namespace std::chrono_literals;

constexpr std::int64_t kNow = 1'800'000'000;
constexpr std::string_view kIssuer = "https://attest.test";
const std::string kMeasurement(64, 'a');  // test::sgx_claims()

// platform: for production-like SGX enclaves with one measurement; dev: for the sim TEE.
nlohmann::json rules_document() {
  return nlohmann::json::array(
      {{{"prefix", "platform:"},
        {"policy",
         {{"name", "prod-sgx"},
          {"all_of",
           {{{"claim", "tee"}, {"in", {"sgx", "tdx", "snp"}}},
            {{"claim", "measurement"}, {"equals", kMeasurement}},
            {{"claim", "debuggable"}, {"equals", false}}}}}}},
       {{"prefix", "dev:"},
        {"policy", {{"name", "dev-sim"}, {"allow_simulated", true}, {"all_of", {{{"claim", "tee"}, {"equals", "sim"}}}}}}}});
}

// A verified token as CallerAuth would hand it over (claims JSON): the policy tests need no signature.
attestation::VerifiedToken token(const std::string& tee, std::int64_t expires_at, bool debuggable = false) {
  const auto jti = crypto::random_hex(16);
  nlohmann::json claims = {{"tee", tee},
                           {"measurement", tee == "sim" ? std::string(96, 'c') : kMeasurement},
                           {"svn", 3},
                           {"debuggable", debuggable},
                           {"tcb_status", tee == "sim" ? "Simulated" : "UpToDate"},
                           {"jti", jti},
                           {"exp", expires_at}};
  return attestation::VerifiedToken{std::move(claims),
                                    jti,
                                    tee,
                                    tee == "sim",
                                    expires_at,
                                    crypto::PrivateKey::generate(crypto::KeyType::ec_p256).public_key(),
                                    crypto::hpke::generate_key_pair().public_key};
}

bool contains(const std::string& haystack, std::string_view needle) { return haystack.find(needle) != std::string::npos; }

class RedisCredentialsTest : public ::testing::Test {
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
    auto admin = redis::Client::create(server_->admin_options());
    ASSERT_TRUE(admin) << admin.error().to_string();
    admin_ = std::move(*admin);
  }

  RedisIssuerOptions options(const std::filesystem::path& state_dir) const {
    RedisIssuerOptions result;
    result.admin = server_->admin_options();
    result.host = "127.0.0.1";
    result.port = server_->port();
    result.server_name = "localhost";
    result.prefixes = parse_redis_prefix_rules(rules_document()).value();
    result.max_lifetime = 3600s;
    result.sweep_interval = 0ms;  // the tests sweep explicitly (one test runs the thread)
    result.state_dir = state_dir;
    return result;
  }

  std::unique_ptr<RedisCredentialIssuer> make_issuer(RedisIssuerOptions issuer_options) {
    auto issuer = RedisCredentialIssuer::create(std::move(issuer_options), clock_, &registry_);
    EXPECT_TRUE(issuer) << issuer.error().to_string();
    return issuer ? std::move(*issuer) : nullptr;
  }
  std::unique_ptr<RedisCredentialIssuer> make_issuer() { return make_issuer(options(dir_.path() / "keys")); }

  // A connection as the issued user (no retries: a dropped connection shows as redis_unavailable).
  static Result<std::unique_ptr<redis::Client>> connect(const RedisCredentials& credentials, int retries = 0) {
    redis::ClientOptions client_options;
    client_options.host = credentials.host;
    client_options.port = credentials.port;
    client_options.ca_pem = server_->ca_pem();
    client_options.server_name = credentials.server_name;
    client_options.username = credentials.username;
    client_options.password = credentials.password;
    client_options.pool_size = 1;
    client_options.max_retries = retries;
    client_options.backoff_initial = 10ms;
    return redis::Client::create(std::move(client_options));
  }

  bool redis_has_user(const std::string& username) {
    auto reply = admin_->command({"ACL", "GETUSER", username});
    EXPECT_TRUE(reply) << reply.error().to_string();
    return reply && !reply->is_null();
  }

  // The connections Redis has open for a user (CLIENT LIST as admin).
  int connections_of(const std::string& username) {
    auto reply = admin_->command({"CLIENT", "LIST"});
    EXPECT_TRUE(reply) << reply.error().to_string();
    if (!reply) return -1;
    int count = 0;
    for (std::size_t at = reply->string.find(" user=" + username + " "); at != std::string::npos;
         at = reply->string.find(" user=" + username + " ", at + 1)) {
      ++count;
    }
    return count;
  }

  std::string metrics() { return prometheus::TextSerializer().Serialize(registry_.Collect()); }

  static RedisTestServer* server_;
  test::TempDir dir_;
  ManualClock clock_ = ManualClock::at_unix(kNow);
  prometheus::Registry registry_;
  std::unique_ptr<redis::Client> admin_;
};
RedisTestServer* RedisCredentialsTest::server_ = nullptr;

void expect_noperm(redis::Client& client, const std::vector<std::string>& command) {
  auto reply = client.command(command);
  ASSERT_FALSE(reply) << command[0] << " " << (command.size() > 1 ? command[1] : "") << " was allowed";
  EXPECT_EQ(reply.error().code, ErrorCode::redis_error) << reply.error().to_string();
  EXPECT_TRUE(contains(reply.error().detail, "NOPERM")) << command[0] << ": " << reply.error().detail;
}

TEST_F(RedisCredentialsTest, AnIssuedUserReadsAndWritesItsPrefix) {
  auto issuer = make_issuer();
  ASSERT_TRUE(issuer);
  auto credentials = issuer->issue(token("sgx", kNow + 300));
  ASSERT_TRUE(credentials) << credentials.error().to_string();
  EXPECT_TRUE(std::regex_match(credentials->username, std::regex("tee-[0-9a-f]{16}"))) << credentials->username;
  EXPECT_EQ(credentials->password.reveal().size(), 43u);  // 32 bytes, base64url
  EXPECT_EQ(credentials->prefix, "platform:");
  EXPECT_EQ(credentials->expires_at, kNow + 300);  // the token's exp (below max_lifetime)
  EXPECT_EQ(credentials->host, "127.0.0.1");
  EXPECT_EQ(credentials->port, server_->port());
  EXPECT_EQ(credentials->server_name, "localhost");
  EXPECT_TRUE(redis_has_user(credentials->username));

  auto client = connect(*credentials);
  ASSERT_TRUE(client) << client.error().to_string();
  auto& user = **client;
  auto set = user.command({"SET", "platform:read-write", "one"});
  ASSERT_TRUE(set) << set.error().to_string();
  EXPECT_TRUE(set->is_ok());
  EXPECT_EQ(user.command({"GET", "platform:read-write"})->string, "one");
  EXPECT_TRUE(user.command({"MSET", "platform:m1", "1", "platform:m2", "2"})->is_ok());
  auto many = user.command({"MGET", "platform:m1", "platform:m2"});
  ASSERT_TRUE(many) << many.error().to_string();
  ASSERT_EQ(many->elements.size(), 2u);
  EXPECT_EQ(many->elements[1].string, "2");
  EXPECT_EQ(user.command({"EXISTS", "platform:m1", "platform:m2"})->integer, 2);
  EXPECT_EQ(user.command({"EXPIRE", "platform:m1", "100"})->integer, 1);
  EXPECT_EQ(user.command({"PEXPIRE", "platform:m2", "100000"})->integer, 1);
  EXPECT_GT(user.command({"TTL", "platform:m1"})->integer, 0);
  EXPECT_GT(user.command({"PTTL", "platform:m2"})->integer, 0);
  EXPECT_EQ(user.command({"UNLINK", "platform:m1"})->integer, 1);
  EXPECT_EQ(user.command({"DEL", "platform:m2"})->integer, 1);
  EXPECT_EQ(user.command({"PING"})->string, "PONG");
  // What the user wrote is what Redis holds.
  EXPECT_EQ(admin_->command({"GET", "platform:read-write"})->string, "one");
}

TEST_F(RedisCredentialsTest, AnIssuedUserCannotTouchAnotherPrefixOrRunAdminCommands) {
  auto issuer = make_issuer();
  ASSERT_TRUE(issuer);
  ASSERT_TRUE(admin_->command({"SET", "dev:secret", "other tenant"}));
  auto credentials = issuer->issue(token("sgx", kNow + 300));
  ASSERT_TRUE(credentials) << credentials.error().to_string();
  auto client = connect(*credentials);
  ASSERT_TRUE(client) << client.error().to_string();
  auto& user = **client;

  expect_noperm(user, {"GET", "dev:secret"});
  expect_noperm(user, {"SET", "dev:secret", "overwritten"});
  expect_noperm(user, {"DEL", "dev:secret"});
  expect_noperm(user, {"MGET", "platform:x", "dev:secret"});
  expect_noperm(user, {"GET", "platform"});  // the prefix is "platform:", not "platform"
  expect_noperm(user, {"CONFIG", "GET", "*"});
  expect_noperm(user, {"ACL", "LIST"});
  expect_noperm(user, {"ACL", "SETUSER", credentials->username, "~*"});
  expect_noperm(user, {"FLUSHALL"});
  expect_noperm(user, {"FLUSHDB"});
  expect_noperm(user, {"KEYS", "*"});
  expect_noperm(user, {"SCAN", "0"});
  expect_noperm(user, {"INFO"});
  expect_noperm(user, {"CLIENT", "LIST"});
  expect_noperm(user, {"EVAL", "return redis.call('GET', 'dev:secret')", "0"});
  expect_noperm(user, {"PUBLISH", "channel", "message"});
  expect_noperm(user, {"SAVE"});
  expect_noperm(user, {"SHUTDOWN", "NOSAVE"});
  EXPECT_EQ(admin_->command({"GET", "dev:secret"})->string, "other tenant");
}

TEST_F(RedisCredentialsTest, TheFirstRuleThatAdmitsTheTokenGivesThePrefix) {
  auto issuer = make_issuer();
  ASSERT_TRUE(issuer);
  auto sim = issuer->issue(token("sim", kNow + 300));
  ASSERT_TRUE(sim) << sim.error().to_string();
  EXPECT_EQ(sim->prefix, "dev:");
  auto client = connect(*sim);
  ASSERT_TRUE(client) << client.error().to_string();
  EXPECT_TRUE((*client)->command({"SET", "dev:mine", "x"}));
  expect_noperm(**client, {"GET", "platform:read-write"});

  RedisPrefixDecision decision;
  auto sgx = issuer->issue(token("sgx", kNow + 300), &decision);
  ASSERT_TRUE(sgx) << sgx.error().to_string();
  EXPECT_EQ(sgx->prefix, "platform:");
  ASSERT_NE(decision.rule, nullptr);
  EXPECT_EQ(decision.clause, "prod-sgx");
  EXPECT_TRUE(decision.refusals.empty());
}

TEST_F(RedisCredentialsTest, ATokenNoRuleAdmitsGetsNothingAndTheRefusalSaysWhy) {
  auto issuer = make_issuer();
  ASSERT_TRUE(issuer);
  const auto users_before = admin_->command({"ACL", "USERS"})->elements.size();
  RedisPrefixDecision decision;
  auto refused = issuer->issue(token("sgx", kNow + 300, /*debuggable=*/true), &decision);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::key_release_denied);
  EXPECT_EQ(refused.error().status(), 403);
  EXPECT_TRUE(contains(refused.error().detail, "[platform:] prod-sgx")) << refused.error().detail;
  EXPECT_TRUE(contains(refused.error().detail, "[dev:] dev-sim")) << refused.error().detail;
  EXPECT_EQ(decision.rule, nullptr);
  ASSERT_EQ(decision.refusals.size(), 2u);
  EXPECT_TRUE(contains(decision.failed_rules(), "[platform:] prod-sgx: debuggable equals false")) << decision.failed_rules();
  EXPECT_EQ(decision.failures().size(), 2u);
  EXPECT_TRUE(issuer->users().empty());
  EXPECT_EQ(admin_->command({"ACL", "USERS"})->elements.size(), users_before);

  // No rules at all: everything is refused.
  auto no_rules = options(dir_.path() / "no-rules");
  no_rules.prefixes.clear();
  auto closed = make_issuer(std::move(no_rules));
  ASSERT_TRUE(closed);
  auto nothing = closed->issue(token("sgx", kNow + 300));
  ASSERT_FALSE(nothing);
  EXPECT_EQ(nothing.error().code, ErrorCode::key_release_denied);
  EXPECT_TRUE(contains(nothing.error().detail, "no prefix rules")) << nothing.error().detail;
  EXPECT_TRUE(contains(metrics(), "cloister_redis_credentials_total{outcome=\"key_release_denied\"} 2")) << metrics();
}

TEST_F(RedisCredentialsTest, AUserLivesNoLongerThanTheTokenOrTheMaximumLifetime) {
  auto issuer = make_issuer();
  ASSERT_TRUE(issuer);
  auto long_token = issuer->issue(token("sgx", kNow + 100'000));
  ASSERT_TRUE(long_token) << long_token.error().to_string();
  EXPECT_EQ(long_token->expires_at, kNow + 3600);
  auto expired = issuer->issue(token("sgx", kNow));
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().code, ErrorCode::token_expired);
  EXPECT_EQ(issuer->users().size(), 1u);
}

TEST_F(RedisCredentialsTest, AfterExpiryTheUserIsRemovedAuthFailsAndOpenConnectionsDrop) {
  auto issuer = make_issuer();
  ASSERT_TRUE(issuer);
  auto credentials = issuer->issue(token("sgx", kNow + 60));
  ASSERT_TRUE(credentials) << credentials.error().to_string();
  auto open = connect(*credentials);
  ASSERT_TRUE(open) << open.error().to_string();
  ASSERT_TRUE((*open)->command({"SET", "platform:expiring", "v"}));

  // Not yet expired: a sweep leaves it.
  auto early = issuer->sweep(kNow + 59);
  ASSERT_TRUE(early) << early.error().to_string();
  EXPECT_EQ(*early, 0u);
  EXPECT_TRUE((*open)->command({"GET", "platform:expiring"}));
  EXPECT_EQ(connections_of(credentials->username), 1);

  clock_.advance(60s);
  auto swept = issuer->sweep(clock_.unix_seconds());
  ASSERT_TRUE(swept) << swept.error().to_string();
  EXPECT_EQ(*swept, 1u);
  EXPECT_TRUE(issuer->users().empty());
  EXPECT_FALSE(redis_has_user(credentials->username));

  // The open connection was dropped by Redis (the client finds it closed and cannot log in again).
  EXPECT_EQ(connections_of(credentials->username), 0);
  auto after = (*open)->command({"GET", "platform:expiring"});
  ASSERT_FALSE(after) << "an expired user's connection still works";
  EXPECT_TRUE(after.error().code == ErrorCode::redis_unavailable || after.error().code == ErrorCode::redis_auth_failed)
      << after.error().to_string();
  // ...and the credentials no longer authenticate, also for a client that reconnects by itself.
  auto again = connect(*credentials);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::redis_auth_failed) << again.error().to_string();
  EXPECT_TRUE(contains(metrics(), "cloister_redis_users_removed_total 1")) << metrics();
  EXPECT_TRUE(contains(metrics(), "cloister_redis_users 0")) << metrics();
}

TEST_F(RedisCredentialsTest, TheRecordSurvivesARestartSoTheNextIssuerRemovesTheUsers) {
  const auto state = dir_.path() / "keys";
  std::string short_lived;
  RedisCredentials long_lived;
  std::string password;
  {
    auto first = make_issuer(options(state));
    ASSERT_TRUE(first);
    auto a = first->issue(token("sgx", kNow + 60));
    auto b = first->issue(token("sim", kNow + 600));
    ASSERT_TRUE(a && b);
    short_lived = a->username;
    password = a->password.reveal();
    long_lived = std::move(*b);
  }  // cloister-keys stops: nothing is removed
  const auto record = state / std::string(kRedisUsersFile);
  ASSERT_TRUE(check_private_mode(record));
  const auto text = test::read_all(record);
  EXPECT_TRUE(contains(text, short_lived));
  EXPECT_FALSE(contains(text, password)) << "a password was persisted";
  EXPECT_FALSE(contains(text, long_lived.password.reveal())) << "a password was persisted";
  ASSERT_TRUE(append_private_line(record, "{\"username\": \"tee-cut sho"));  // a torn last line is skipped

  clock_.advance(61s);
  auto second = make_issuer(options(state));  // sweeps at start
  ASSERT_TRUE(second);
  ASSERT_EQ(second->users().size(), 1u);
  EXPECT_EQ(second->users()[0].username, long_lived.username);
  EXPECT_FALSE(redis_has_user(short_lived));
  auto still = connect(long_lived);
  ASSERT_TRUE(still) << still.error().to_string();

  auto swept = second->sweep(kNow + 600);
  ASSERT_TRUE(swept) << swept.error().to_string();
  EXPECT_EQ(*swept, 1u);
  auto refused = connect(long_lived);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::redis_auth_failed);
  EXPECT_FALSE(contains(test::read_all(record), long_lived.username));
}

TEST_F(RedisCredentialsTest, TheSweeperThreadRemovesExpiredUsers) {
  auto sweeping = options(dir_.path() / "keys");
  sweeping.sweep_interval = 20ms;
  auto issuer = make_issuer(std::move(sweeping));
  ASSERT_TRUE(issuer);
  auto credentials = issuer->issue(token("sgx", kNow + 5));
  ASSERT_TRUE(credentials) << credentials.error().to_string();
  ASSERT_TRUE(connect(*credentials));
  clock_.advance(5s);
  for (int attempt = 0; attempt < 500 && !issuer->users().empty(); ++attempt) std::this_thread::sleep_for(20ms);
  EXPECT_TRUE(issuer->users().empty()) << "the sweeper did not remove the expired user within 10 s";
  auto refused = connect(*credentials);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::redis_auth_failed);
  issuer.reset();  // stops and joins the sweeper
}

TEST_F(RedisCredentialsTest, LiveUsersAreBoundedAndRevokeRemovesAtOnce) {
  auto bounded = options(dir_.path() / "keys");
  bounded.max_users = 2;
  auto issuer = make_issuer(std::move(bounded));
  ASSERT_TRUE(issuer);
  auto first = issuer->issue(token("sgx", kNow + 300));
  ASSERT_TRUE(first && issuer->issue(token("sgx", kNow + 300)));
  auto third = issuer->issue(token("sgx", kNow + 300));
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().code, ErrorCode::too_many_requests);

  ASSERT_TRUE(issuer->revoke(first->username));
  EXPECT_FALSE(redis_has_user(first->username));
  auto refused = connect(*first);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::redis_auth_failed);
  EXPECT_TRUE(issuer->issue(token("sgx", kNow + 300)));
  auto unknown = issuer->revoke("tee-0000000000000000");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::not_found);
}

TEST(RedisPrefixRules, AreValidated) {
  EXPECT_TRUE(parse_redis_prefix_rules(rules_document()));
  EXPECT_TRUE(parse_redis_prefix_rules(nlohmann::json::array()));
  auto rule = [](const std::string& prefix) {
    return nlohmann::json{{"prefix", prefix},
                          {"policy", {{"name", "p"}, {"all_of", {{{"claim", "tee"}, {"equals", "sgx"}}}}}}};
  };
  const nlohmann::json bad[] = {
      nlohmann::json::object(),                                      // not a list
      nlohmann::json::array({"platform:"}),                           // not an object
      nlohmann::json::array({rule("")}),                              // empty prefix
      nlohmann::json::array({rule("plat*")}),                         // a glob character
      nlohmann::json::array({rule("a b")}),                           // a space
      nlohmann::json::array({rule(std::string(65, 'p'))}),            // too long
      nlohmann::json::array({rule("platform:"), rule("platform:x:")}),  // one prefix of another
      nlohmann::json::array({rule("dev:"), rule("dev:")}),            // twice
      nlohmann::json::array({{{"prefix", "p:"}}}),                    // no policy
      nlohmann::json::array({{{"prefix", "p:"}, {"policy", {{"all_of", nlohmann::json::array()}}}}}),  // bad policy
      nlohmann::json::array({{{"prefix", "p:"}, {"policy", rule("p:")["policy"]}, {"extra", 1}}}),  // unknown member
  };
  for (const auto& document : bad) {
    auto parsed = parse_redis_prefix_rules(document);
    EXPECT_FALSE(parsed) << document.dump();
    if (!parsed) {
      EXPECT_EQ(parsed.error().code, ErrorCode::config_invalid) << document.dump();
    }
  }
}

TEST_F(RedisCredentialsTest, OptionsComeFromTheConfiguration) {
  std::vector<ConfigOption> declared = redis_options();
  declared.push_back({"tls.ca_file", "", "test"});
  Config config(declared, "CLOISTER_TEST_");
  auto off = redis_issuer_options_from(config, dir_.path());
  ASSERT_TRUE(off) << off.error().to_string();
  EXPECT_FALSE(off->has_value()) << "an empty redis.host must turn the feature off";

  const auto ca = dir_.path() / "ca.pem";
  const auto password = dir_.path() / "admin-password";
  ASSERT_TRUE(write_private_file(ca, server_->ca_pem()));
  ASSERT_TRUE(write_private_file(password, server_->admin_password() + "\n"));
  ASSERT_TRUE(config.set("redis.host", "127.0.0.1"));
  ASSERT_TRUE(config.set("redis.port", std::to_string(server_->port())));
  ASSERT_TRUE(config.set("redis.server_name", "localhost"));
  ASSERT_TRUE(config.set("redis.admin_username", server_->admin_username()));
  ASSERT_TRUE(config.set("tls.ca_file", ca.string()));  // redis.ca_file empty: tls.ca_file
  auto no_password = redis_issuer_options_from(config, dir_.path());
  ASSERT_FALSE(no_password);
  EXPECT_EQ(no_password.error().code, ErrorCode::config_invalid);

  ASSERT_TRUE(config.set("redis.admin_password_file", password.string()));
  ASSERT_TRUE(config.set_json("redis.prefixes", rules_document()));
  ASSERT_EQ(::chmod(password.c_str(), 0644), 0);
  auto readable = redis_issuer_options_from(config, dir_.path());
  ASSERT_FALSE(readable) << "a password file readable by others was accepted";
  EXPECT_EQ(readable.error().code, ErrorCode::config_invalid);
  ASSERT_EQ(::chmod(password.c_str(), 0600), 0);

  auto parsed = redis_issuer_options_from(config, dir_.path() / "keys");
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  ASSERT_TRUE(parsed->has_value());
  EXPECT_EQ((*parsed)->port, server_->port());
  EXPECT_EQ((*parsed)->admin.password.reveal(), server_->admin_password());  // the newline is not part of it
  EXPECT_EQ((*parsed)->prefixes.size(), 2u);
  EXPECT_EQ((*parsed)->max_lifetime, 3600s);
  EXPECT_EQ((*parsed)->sweep_interval, 15s);

  // from_config connects as admin and serves.
  auto issuer = RedisCredentialIssuer::from_config(config, dir_.path() / "keys", clock_);
  ASSERT_TRUE(issuer) << issuer.error().to_string();
  ASSERT_TRUE(*issuer);
  auto credentials = (*issuer)->issue(token("sgx", kNow + 300));
  ASSERT_TRUE(credentials) << credentials.error().to_string();
  EXPECT_TRUE(connect(*credentials));

  const auto refused_with = [&](const std::string& key, nlohmann::json value) {
    EXPECT_TRUE(config.set_json(key, value));
    auto refused = redis_issuer_options_from(config, dir_.path());
    EXPECT_FALSE(refused) << key << "=" << value.dump() << " was accepted";
    return refused ? ErrorCode::internal : refused.error().code;
  };
  EXPECT_EQ(refused_with("redis.max_lifetime_seconds", 0), ErrorCode::config_invalid);
  ASSERT_TRUE(config.set("redis.max_lifetime_seconds", "60"));
  EXPECT_EQ(refused_with("redis.port", 70000), ErrorCode::config_invalid);
  ASSERT_TRUE(config.set("redis.port", std::to_string(server_->port())));
  EXPECT_EQ(refused_with("redis.prefixes", nlohmann::json::array({{{"prefix", "*"}}})), ErrorCode::config_invalid);

  // A wrong admin password is reported at start-up.
  ASSERT_TRUE(config.set_json("redis.prefixes", rules_document()));
  ASSERT_TRUE(write_private_file(password, "not-the-password"));
  auto wrong = RedisCredentialIssuer::from_config(config, dir_.path() / "keys", clock_);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, ErrorCode::redis_auth_failed);
}

// --- must show: Redis holds only ciphertext ----------------------------------------------------

// Waits (bounded) until `path` holds `needle`.
bool wait_for_text(const std::filesystem::path& path, std::string_view needle, ChildProcess* process) {
  for (int attempt = 0; attempt < 200; ++attempt) {
    if (contains(test::read_all(path), needle)) return true;
    if (process != nullptr && !process->running()) return contains(test::read_all(path), needle);
    std::this_thread::sleep_for(25ms);
  }
  return false;
}

TEST_F(RedisCredentialsTest, TheDumpAndMonitorHoldNoPlaintextOfTheEncryptedCache) {
  auto issuer = make_issuer();
  ASSERT_TRUE(issuer);
  const auto plaintext = "PATIENT-" + crypto::random_hex(16) + " Jane Example, chest CT, no nodules";
  const auto name = "study-" + crypto::random_hex(6);
  // A control written in clear by the admin: both captures must show it, or they capture nothing.
  const auto control_key = "control:" + crypto::random_hex(6);
  const auto control_value = "CLEARTEXT-" + crypto::random_hex(16);

  const auto monitor_log = dir_.path() / "monitor.log";
  auto monitor_arguments = std::vector<std::string>{"/usr/bin/redis-cli"};
  for (const auto& argument : server_->cli_arguments()) monitor_arguments.push_back(argument);
  monitor_arguments.push_back("MONITOR");
  auto monitor = ChildProcess::spawn({monitor_arguments, monitor_log.string(), {}});
  ASSERT_TRUE(monitor) << monitor.error().to_string();
  ASSERT_TRUE(wait_for_text(monitor_log, "OK", &*monitor)) << test::read_all(monitor_log);

  auto credentials = issuer->issue(token("sgx", kNow + 300));
  ASSERT_TRUE(credentials) << credentials.error().to_string();
  auto client = connect(*credentials);
  ASSERT_TRUE(client) << client.error().to_string();
  redis::EncryptedCache cache(**client, Sensitive<crypto::Bytes>(crypto::random_bytes(32)), credentials->prefix);
  ASSERT_TRUE(cache.put(name, "report", crypto::as_bytes(plaintext), 0ms));
  auto read = cache.get(name, "report");
  ASSERT_TRUE(read && read->has_value());
  EXPECT_EQ(crypto::to_string(**read), plaintext);
  ASSERT_TRUE(admin_->command({"SET", control_key, control_value}));

  ASSERT_TRUE(wait_for_text(monitor_log, control_value, &*monitor)) << test::read_all(monitor_log);
  monitor->stop(2000ms);
  const auto monitored = test::read_all(monitor_log);
  EXPECT_TRUE(contains(monitored, cache.key(name))) << "MONITOR did not capture the cache write";
  EXPECT_FALSE(contains(monitored, plaintext)) << "MONITOR shows the cached plaintext";
  EXPECT_FALSE(contains(monitored, "Jane Example")) << "MONITOR shows the cached plaintext";
  EXPECT_FALSE(contains(monitored, credentials->password.reveal())) << "MONITOR shows the user's password";

  const auto dump = dir_.path() / "dump.rdb";
  auto rdb_arguments = std::vector<std::string>{"/usr/bin/redis-cli"};
  for (const auto& argument : server_->cli_arguments()) rdb_arguments.push_back(argument);
  rdb_arguments.insert(rdb_arguments.end(), {"--rdb", dump.string()});
  auto rdb = ChildProcess::spawn({rdb_arguments, (dir_.path() / "rdb.log").string(), {}});
  ASSERT_TRUE(rdb) << rdb.error().to_string();
  auto status = rdb->wait_for(30s);
  ASSERT_TRUE(status.has_value()) << "redis-cli --rdb did not finish";
  ASSERT_EQ(*status, 0) << test::read_all(dir_.path() / "rdb.log");
  const auto dumped = test::read_all(dump);
  ASSERT_FALSE(dumped.empty());
  EXPECT_TRUE(contains(dumped, cache.key(name))) << "the dump does not hold the cache key";
  EXPECT_TRUE(contains(dumped, control_value)) << "the dump does not show a value written in clear";
  EXPECT_FALSE(contains(dumped, plaintext)) << "the dump holds the cached plaintext";
  EXPECT_FALSE(contains(dumped, "Jane Example")) << "the dump holds the cached plaintext";
  EXPECT_FALSE(contains(dumped, credentials->password.reveal())) << "the dump holds the user's password";
}

// Log lines never hold a password (issue, sweep, refusal, failure).
TEST_F(RedisCredentialsTest, NoPasswordIsLogged) {
  const auto log_file = dir_.path() / "service.log";
  log::configure("cloister-keys-test", log::Level::debug, log_file.string());
  std::vector<std::string> passwords;
  {
    auto issuer = make_issuer();
    ASSERT_TRUE(issuer);
    auto credentials = issuer->issue(token("sgx", kNow + 10));
    ASSERT_TRUE(credentials);
    passwords.push_back(credentials->password.reveal());
    EXPECT_FALSE(issuer->issue(token("sgx", kNow + 10, true)));
    clock_.advance(20s);
    EXPECT_TRUE(issuer->sweep(clock_.unix_seconds()));
    auto username = credentials->username;
    log::flush();
    const auto logged = test::read_all(log_file);
    EXPECT_TRUE(contains(logged, username)) << "the log was not captured";
  }
  log::flush();
  log::configure("cloister-keys-test");
  const auto logged = test::read_all(log_file);
  for (const auto& password : passwords) EXPECT_FALSE(contains(logged, password));
  EXPECT_FALSE(contains(logged, server_->admin_password()));
}

// --- POST /redis/credentials with real tokens and the real CallerAuth --------------------------

class RedisRouteTest : public RedisCredentialsTest {
 protected:
  void SetUp() override {
    RedisCredentialsTest::SetUp();
    signing_ = std::make_unique<attestation::SigningKeys>(
        attestation::SigningKeys::open(dir_.path() / "signing", clock_).value());
    token_issuer_ = std::make_unique<attestation::TokenIssuer>(*signing_, std::string(kIssuer), 300s, clock_);
    // cloister-keys' own service-level policy (every TEE through to the rules).
    nlohmann::json policy = nlohmann::json::object();
    for (const auto& option : key_service_options()) {
      if (option.key.starts_with("policy.")) policy[option.key.substr(7)] = option.default_value;
    }
    attestation::TokenVerifierOptions verifier_options;
    verifier_options.issuer = std::string(kIssuer);
    verifier_options.policy = attestation::Policy::from_json(policy).value();
    callers_ = std::make_unique<service::CallerAuth>(std::make_shared<attestation::StaticJwksSource>(signing_->jwks()),
                                                     verifier_options, clock_, registry_);
    KeyServiceOptions service_options;
    service_options.state_dir = dir_.path() / "keys";
    auto service = KeyService::create(service_options, clock_, registry_);
    ASSERT_TRUE(service) << service.error().to_string();
    service_ = std::move(*service);
    issuer_ = make_issuer();
    ASSERT_TRUE(issuer_);
    add_redis_routes(router_, *callers_, *issuer_, &service_->audit());
  }

  http::Response request(const test::Caller& who, std::optional<std::string> spki) {
    return test::call(router_, "POST", "/redis/credentials", "", {{"Authorization", "Attestation " + who.token}}, spki);
  }

  std::unique_ptr<attestation::SigningKeys> signing_;
  std::unique_ptr<attestation::TokenIssuer> token_issuer_;
  std::unique_ptr<service::CallerAuth> callers_;
  std::unique_ptr<KeyService> service_;
  std::unique_ptr<RedisCredentialIssuer> issuer_;
  http::Router router_;
};

TEST_F(RedisRouteTest, AnAttestedCallerGetsCredentialsSealedToItsAttestedKey) {
  auto enclave = test::make_caller(*token_issuer_, test::sgx_claims());
  auto response = request(enclave, enclave.spki());
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("Cache-Control"), "no-store");
  auto body = test::body_of(response);
  EXPECT_EQ(body["jti"], test::jti_of(enclave.token));
  EXPECT_EQ(body["info"], kRedisCredentialsInfo);
  EXPECT_EQ(body["suite"], "HPKE-Base-X25519-SHA256-AES256GCM");
  EXPECT_FALSE(contains(response.body, "password"));

  auto enc = crypto::base64url_decode(body["enc"].get<std::string>()).value();
  auto ciphertext = crypto::base64url_decode(body["ciphertext"].get<std::string>()).value();
  const auto jti = body["jti"].get<std::string>();
  auto opened = crypto::hpke::open(crypto::hpke::kDefaultSuite, enc, enclave.hpke.private_key.reveal(),
                                   crypto::as_bytes(kRedisCredentialsInfo), crypto::as_bytes(jti), ciphertext);
  ASSERT_TRUE(opened) << opened.error().to_string();
  // Bound to the token: another jti as associated data does not open it.
  EXPECT_FALSE(crypto::hpke::open(crypto::hpke::kDefaultSuite, enc, enclave.hpke.private_key.reveal(),
                                  crypto::as_bytes(kRedisCredentialsInfo), crypto::as_bytes("other"), ciphertext));
  auto document = nlohmann::json::parse(opened->begin(), opened->end());
  EXPECT_EQ(document["prefix"], "platform:");
  EXPECT_EQ(document["expires_at"], kNow + 300);
  EXPECT_EQ(document["port"], server_->port());
  EXPECT_EQ(document["tls"], true);

  RedisCredentials credentials;
  credentials.username = document["username"].get<std::string>();
  credentials.password = Sensitive<std::string>(document["password"].get<std::string>());
  credentials.prefix = document["prefix"].get<std::string>();
  credentials.expires_at = document["expires_at"].get<std::int64_t>();
  credentials.host = document["host"].get<std::string>();
  credentials.port = document["port"].get<std::uint16_t>();
  credentials.server_name = document["server_name"].get<std::string>();
  auto client = connect(credentials);
  ASSERT_TRUE(client) << client.error().to_string();
  EXPECT_TRUE((*client)->command({"SET", "platform:from-route", "v"}));
  expect_noperm(**client, {"GET", "dev:secret"});

  auto audit = service_->audit().recent(10).value();
  ASSERT_FALSE(audit.empty());
  EXPECT_EQ(audit[0].action, "redis_credentials");
  EXPECT_EQ(audit[0].outcome, "ok");
  EXPECT_EQ(audit[0].actor, jti);
  EXPECT_TRUE(contains(audit[0].detail, credentials.username));
  EXPECT_FALSE(contains(audit[0].to_json().dump(), credentials.password.reveal()));
}

TEST_F(RedisRouteTest, ATokenFailingEveryRuleGetsNothing) {
  auto claims = test::sgx_claims();
  claims.debuggable = true;
  auto debug = test::make_caller(*token_issuer_, claims);
  auto response = request(debug, debug.spki());
  EXPECT_EQ(response.status, 403) << response.body;
  auto body = test::body_of(response);
  EXPECT_EQ(body["code"], "key_release_denied");
  EXPECT_TRUE(contains(body.value("rule", std::string()), "[platform:] prod-sgx: debuggable equals false")) << response.body;
  EXPECT_EQ(body["failures"].size(), 2u) << response.body;
  EXPECT_TRUE(issuer_->users().empty());
  auto audit = service_->audit().recent(1).value();
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].outcome, "denied");
  EXPECT_EQ(audit[0].code, "key_release_denied");
}

TEST_F(RedisRouteTest, ATokenWhoseTlsKeyIsNotTheCallersGetsNothing) {
  auto enclave = test::make_caller(*token_issuer_, test::sgx_claims());
  auto thief = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  auto response = request(enclave, crypto::to_string(thief.public_key().spki_der()));
  EXPECT_EQ(response.status, 401) << response.body;
  EXPECT_EQ(test::body_of(response)["code"], "channel_binding_mismatch");
  auto no_certificate = request(enclave, std::nullopt);
  EXPECT_EQ(no_certificate.status, 401) << no_certificate.body;
  auto no_token = test::call(router_, "POST", "/redis/credentials", "", {}, enclave.spki());
  EXPECT_EQ(test::body_of(no_token)["code"], "attestation_required");
  EXPECT_TRUE(issuer_->users().empty());
  auto audit = service_->audit().recent(3).value();
  ASSERT_EQ(audit.size(), 3u);
  for (const auto& entry : audit) {
    EXPECT_EQ(entry.action, "redis_credentials");
    EXPECT_EQ(entry.outcome, "refused");
  }
}

}  // namespace
}  // namespace cloister::keys

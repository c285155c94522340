// cloister-keys as a real process next to a real cloister-attest (loopback, port 0, real TLS, the
// sim TEE), administered with the `cloister keys` CLI:
//   - an attested caller (this test: sim evidence → a token from cloister-attest, a client
//     certificate for the token's TLS key) gets a key sealed to its attested HPKE key and opens it;
//   - a token failing the key's release policy gets 403 key_release_denied naming the rule;
//   - the same token over a certificate for another key gets 401 channel_binding_mismatch, and no
//     client certificate 401 client_certificate_required;
//   - the audit log lists the release and the refusals, without key material or tokens;
//   - admin routes refuse a missing or wrong bearer token;
//   - with a real redis-server over TLS: the attested caller gets short-lived Redis credentials
//     sealed to it, uses them under its prefix, and is refused outside it.
#include "harness.h"

#include "cloister/crypto/base64.h"
#include "cloister/crypto/hash.h"
#include "cloister/crypto/hpke.h"
#include "cloister/redis/client.h"
#include "cloister/redis/testing/redis_test_server.h"

#include <gtest/gtest.h>

#include <fstream>

namespace cloister::testing {
namespace {

namespace fs = std::filesystem;

const std::string kBin = CLOISTER_BIN_DIR;
constexpr std::string_view kReleaseInfo = "cloister-key-release-v1";

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// cloister-attest + cloister-keys (a ServiceSet: development CA, sim-platform key, processes stopped
// by pid) and a TLS Redis, started once for the file.
class Deployment {
 public:
  ServiceSet set{"cloister-keys-it"};
  fs::path dir = set.dir();
  fs::path ca = set.ca_file();
  std::string attest_url;
  std::string keys_url;
  std::string error;

  Deployment() {
    if (!set.error().empty()) {
      error = set.error();
      return;
    }
    // Redis (TLS, default user off) whose admin credential only cloister-keys gets.
    auto redis = redis::testing::RedisTestServer::start();
    if (!redis) {
      error = "redis: " + redis.error().to_string();
      return;
    }
    redis_ = std::move(*redis);
    write_file(redis_ca, redis_->ca_pem());
    write_file(redis_password, redis_->admin_password());
    fs::permissions(redis_password, fs::perms::owner_read | fs::perms::owner_write);
    const nlohmann::json prefixes = {
        {{"prefix", "itest:"},
         {"policy", {{"name", "this-test"}, {"allow_simulated", true},
                     {"all_of", {{{"claim", "measurement"}, {"equals", sim_measurement("/proc/self/exe")}}}}}}}};

    attest_url = set.start_attest();
    if (attest_url.empty()) {
      error = set.error();
      return;
    }
    auto settings = set.sim_tee_settings(attest_url);
    settings.insert(settings.end(), {"--set", "redis.host=127.0.0.1",
                                     "--set", "redis.port=" + std::to_string(redis_->port()),
                                     "--set", "redis.server_name=localhost",
                                     "--set", "redis.ca_file=" + redis_ca.string(),
                                     "--set", "redis.admin_username=" + redis_->admin_username(),
                                     "--set", "redis.admin_password_file=" + redis_password.string(),
                                     "--set", "redis.prefixes=" + prefixes.dump()});
    keys_url = set.start("keys", settings);
    // Ready once cloister-keys holds its own token.
    if (keys_url.empty() || !set.wait_ready(keys_url)) {
      error = set.error() + ": " + read_file(set.log("keys"));
      keys_url.clear();
    }
  }

  ~Deployment() {
    set.stop("keys");
    redis_.reset();
  }

  bool started() const { return !keys_url.empty(); }
  std::string admin_token_file() const { return (set.state("keys") / "admin-token").string(); }
  std::string keys_log() const { return read_file(set.log("keys")); }
  std::uint16_t redis_port() const { return redis_->port(); }
  std::string redis_ca_pem() const { return redis_->ca_pem(); }
  fs::path redis_ca = dir / "redis-ca.pem";
  fs::path redis_password = dir / "redis-admin-password";

  // Trusts the test CA; with a key, presents a certificate the CA issued for it (mutual TLS).
  http::Client client(const crypto::PrivateKey* key = nullptr) const {
    return set.client(key, std::chrono::milliseconds(15000));
  }

  CommandResult cli(std::vector<std::string> arguments) const {
    arguments.insert(arguments.begin(), {kBin + "/cloister", "keys"});
    arguments.insert(arguments.end(), {"--keys", keys_url, "--ca", ca.string(), "--admin-token-file", admin_token_file()});
    return run_command(arguments, std::chrono::seconds(60));
  }

 private:
  std::unique_ptr<redis::testing::RedisTestServer> redis_;
};

Deployment* g_deployment = nullptr;

class DeploymentEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    deployment_ = std::make_unique<Deployment>();
    ASSERT_TRUE(deployment_->started()) << deployment_->error;
    g_deployment = deployment_.get();
  }
  void TearDown() override {
    g_deployment = nullptr;
    deployment_.reset();
  }

 private:
  std::unique_ptr<Deployment> deployment_;
};

const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new DeploymentEnvironment);

// This test binary as an attested caller (harness.h): its own TLS and HPKE keys, sim evidence
// signed with the deployment's sim-platform key, and a token for it from the real cloister-attest.
AttestedCaller make_caller(const Deployment& deployment) {
  auto caller = make_attested_caller(deployment.set, deployment.attest_url);
  EXPECT_TRUE(caller.error.empty()) << caller.error;
  return caller;
}

Result<http::Response> release(const Deployment& deployment, const crypto::PrivateKey* certificate_key,
                               const std::string& token, const std::string& name) {
  return deployment.client(certificate_key)
      .request("POST", deployment.keys_url + "/keys/" + name + "/release", {{"Authorization", "Attestation " + token}});
}

// Creates a key with the CLI; its policy goes through a file, as an operator's would.
void create_key(const Deployment& deployment, const std::string& name, const std::string& type,
                const nlohmann::json& policy) {
  const auto file = deployment.dir / (name + "-policy.json");
  write_file(file, policy.dump(2));
  auto created = deployment.cli({"create", name, "--type", type, "--policy", file.string()});
  ASSERT_EQ(created.status, 0) << created.output;
  auto document = nlohmann::json::parse(created.output, nullptr, false);
  ASSERT_TRUE(document.is_object()) << created.output;
  EXPECT_EQ(document["name"], name);
  EXPECT_EQ(document["current_version"], 1);
}

TEST(KeysService, ReleasesOnlyToTheAttestedCallerAndAuditsEveryRefusal) {
  ASSERT_NE(g_deployment, nullptr);
  const auto& deployment = *g_deployment;
  const auto measurement = sim_measurement("/proc/self/exe");
  // Development keys for this very binary in the sim TEE.
  create_key(deployment, "records", "aes-256",
             {{"any_of",
               {{{"name", "dev-sim"},
                 {"allow_simulated", true},
                 {"all_of",
                  {{{"claim", "tee"}, {"equals", "sim"}},
                   {{"claim", "measurement"}, {"equals", measurement}},
                   {{"claim", "debuggable"}, {"equals", false}}}}}}}});
  create_key(deployment, "pinned-elsewhere", "model-aes-256",
             {{"any_of",
               {{{"name", "prod"},
                 {"allow_simulated", true},
                 {"all_of", {{{"claim", "measurement"}, {"equals", std::string(96, '0')}}}}}}}});

  auto caller = make_caller(deployment);
  ASSERT_FALSE(caller.token.empty());
  const auto jti = token_payload(caller.token)["jti"].get<std::string>();

  // 1. Released, sealed to the caller's attested HPKE key; the caller opens 32 bytes.
  auto released = release(deployment, &caller.tls_key, caller.token, "records");
  ASSERT_TRUE(released) << released.error().to_string();
  ASSERT_EQ(released->status, 200) << released->body;
  auto body = body_of(*released);
  EXPECT_EQ(body["name"], "records");
  EXPECT_EQ(body["version"], 1);
  EXPECT_EQ(body["jti"], jti);
  auto enc = crypto::base64url_decode(body["enc"].get<std::string>()).value();
  auto ciphertext = crypto::base64url_decode(body["ciphertext"].get<std::string>()).value();
  std::string aad = "records";
  aad += '\0';
  aad += "1";
  aad += '\0';
  aad += jti;
  auto key = crypto::hpke::open(crypto::hpke::kDefaultSuite, enc, caller.hpke_private_key.reveal(),
                                crypto::as_bytes(kReleaseInfo), crypto::as_bytes(aad), ciphertext);
  ASSERT_TRUE(key) << key.error().to_string();
  ASSERT_EQ(key->size(), 32u);
  EXPECT_EQ(released->body.find(crypto::base64url_encode(*key)), std::string::npos);
  // Released again (a new seal), it is the same key.
  auto again = release(deployment, &caller.tls_key, caller.token, "records");
  ASSERT_TRUE(again);
  ASSERT_EQ(again->status, 200);
  auto again_body = body_of(*again);
  auto again_key = crypto::hpke::open(crypto::hpke::kDefaultSuite,
                                      crypto::base64url_decode(again_body["enc"].get<std::string>()).value(),
                                      caller.hpke_private_key.reveal(), crypto::as_bytes(kReleaseInfo),
                                      crypto::as_bytes(aad),
                                      crypto::base64url_decode(again_body["ciphertext"].get<std::string>()).value());
  ASSERT_TRUE(again_key);
  EXPECT_EQ(*again_key, *key);

  // 2. A key whose policy this token fails: 403 key_release_denied naming the rule.
  auto denied = release(deployment, &caller.tls_key, caller.token, "pinned-elsewhere");
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->status, 403);
  EXPECT_EQ(code_of(denied), "key_release_denied");
  EXPECT_EQ(body_of(*denied)["rule"], "prod: measurement equals \"" + std::string(96, '0') + "\"");
  EXPECT_EQ(denied->body.find("ciphertext"), std::string::npos);

  // 3. The token over a certificate for another key (a stolen token): 401 channel_binding_mismatch.
  auto thief = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  auto stolen = release(deployment, &thief, caller.token, "records");
  ASSERT_TRUE(stolen);
  EXPECT_EQ(stolen->status, 401);
  EXPECT_EQ(code_of(stolen), "channel_binding_mismatch");

  // 4. No client certificate: 401.
  auto anonymous = release(deployment, nullptr, caller.token, "records");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  EXPECT_EQ(code_of(anonymous), "client_certificate_required");

  // The audit log, through the CLI: all of it, newest first, with who and why — no secrets.
  auto audit = deployment.cli({"audit", "--limit", "20"});
  ASSERT_EQ(audit.status, 0) << audit.output;
  auto entries = nlohmann::json::parse(audit.output, nullptr, false)["entries"];
  ASSERT_TRUE(entries.is_array()) << audit.output;
  ASSERT_GE(entries.size(), 7u) << audit.output;  // 2 creations, 2 releases, 1 denial, 2 refusals
  auto find = [&](std::string_view outcome, std::string_view code) -> nlohmann::json {
    for (const auto& entry : entries) {
      if (entry.value("outcome", "") == outcome && entry.value("code", "") == code) return entry;
    }
    return nullptr;
  };
  auto ok = find("ok", "");
  ASSERT_TRUE(ok.is_object()) << audit.output;
  EXPECT_EQ(entries[0]["code"], "client_certificate_required");
  auto released_entry = entries[3];
  EXPECT_EQ(released_entry["action"], "release");
  EXPECT_EQ(released_entry["outcome"], "ok");
  EXPECT_EQ(released_entry["key"], "records");
  EXPECT_EQ(released_entry["version"], 1);
  EXPECT_EQ(released_entry["who"]["jti"], jti);
  EXPECT_EQ(released_entry["who"]["tee"], "sim");
  EXPECT_EQ(released_entry["who"]["measurement"], measurement);
  auto denial = find("denied", "key_release_denied");
  ASSERT_TRUE(denial.is_object()) << audit.output;
  EXPECT_EQ(denial["key"], "pinned-elsewhere");
  EXPECT_EQ(denial["rule"], body_of(*denied)["rule"]);
  EXPECT_EQ(denial["who"]["jti"], jti);
  auto binding = find("refused", "channel_binding_mismatch");
  ASSERT_TRUE(binding.is_object()) << audit.output;
  EXPECT_EQ(binding["key"], "records");
  EXPECT_TRUE(find("refused", "client_certificate_required").is_object());
  EXPECT_EQ(entries[entries.size() - 1]["action"], "create");
  EXPECT_EQ(entries[entries.size() - 1]["who"]["name"], "admin");
  for (const auto& secret : {crypto::base64url_encode(*key), crypto::hex_encode(*key), caller.token}) {
    EXPECT_EQ(audit.output.find(secret), std::string::npos);
  }

  // The service's log has the same audit lines and nothing secret either.
  const auto log = deployment.keys_log();
  EXPECT_NE(log.find("\"msg\":\"key audit\""), std::string::npos);
  EXPECT_EQ(log.find(caller.token), std::string::npos) << "a token leaked into the log";
  EXPECT_EQ(log.find(crypto::base64url_encode(*key)), std::string::npos) << "a key leaked into the log";
  EXPECT_EQ(log.find(trimmed(read_file(deployment.admin_token_file()))), std::string::npos);

  // Every outcome is counted.
  auto metrics = deployment.client().get(deployment.keys_url + "/metrics");
  ASSERT_TRUE(metrics);
  for (const auto* outcome : {"ok", "key_release_denied", "channel_binding_mismatch", "client_certificate_required"}) {
    EXPECT_NE(metrics->body.find(std::string("cloister_key_releases_total{outcome=\"") + outcome + "\"}"),
              std::string::npos)
        << outcome;
  }
}

TEST(KeysService, AdminRoutesRefuseAMissingOrWrongBearerToken) {
  ASSERT_NE(g_deployment, nullptr);
  const auto& deployment = *g_deployment;
  auto client = deployment.client();
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/admin/keys"}, {"POST", "/admin/keys"}, {"GET", "/admin/audit"}, {"PUT", "/admin/keys/x/policy"}}) {
    for (const http::HeaderList& headers : {http::HeaderList{}, http::HeaderList{{"Authorization", "Bearer cla_wrong"}}}) {
      auto response = client.request(method, deployment.keys_url + path, headers, "{}");
      ASSERT_TRUE(response) << response.error().to_string();
      EXPECT_EQ(response->status, 401) << method << " " << path;
      EXPECT_EQ(code_of(response), "unauthenticated");
      EXPECT_EQ(response->header("WWW-Authenticate"), "Bearer realm=\"cloister-keys admin\"");
    }
  }
  // The CLI with a wrong token fails too, and says why.
  const auto wrong = deployment.dir / "wrong-token";
  write_file(wrong, "cla_wrong\n");
  auto refused = run_command({kBin + "/cloister", "keys", "list", "--keys", deployment.keys_url, "--ca",
                              deployment.ca.string(), "--admin-token-file", wrong.string()},
                             std::chrono::seconds(60));
  EXPECT_EQ(refused.status, 1);
  EXPECT_NE(refused.output.find("unauthenticated"), std::string::npos) << refused.output;
}

TEST(KeysService, TheCliAdministersKeysAndPolicies) {
  ASSERT_NE(g_deployment, nullptr);
  const auto& deployment = *g_deployment;
  auto created = deployment.cli({"create", "inbox", "--type", "hpke-x25519"});
  ASSERT_EQ(created.status, 0) << created.output;
  auto document = nlohmann::json::parse(created.output, nullptr, false);
  EXPECT_EQ(document["versions"][0]["public_key"].get<std::string>().size(), 43u);  // 32 bytes, base64url
  EXPECT_EQ(document["policy"]["policy"]["name"], "default");

  auto rotated = deployment.cli({"rotate", "inbox"});
  ASSERT_EQ(rotated.status, 0) << rotated.output;
  EXPECT_EQ(nlohmann::json::parse(rotated.output, nullptr, false)["current_version"], 2);
  auto shown = deployment.cli({"show", "inbox"});
  ASSERT_EQ(shown.status, 0) << shown.output;
  EXPECT_EQ(nlohmann::json::parse(shown.output, nullptr, false)["versions"].size(), 2u);
  auto listed = deployment.cli({"list"});
  ASSERT_EQ(listed.status, 0) << listed.output;
  EXPECT_NE(listed.output.find("\"inbox\""), std::string::npos);

  const auto policy_file = deployment.dir / "inbox-policy.json";
  write_file(policy_file, R"({"all_of": [{"claim": "tee", "in": ["tdx"]}, {"claim": "svn", "min": 4}]})");
  auto set = deployment.cli({"policy", "set", "inbox", "--policy", policy_file.string(), "--comment", "tdx only",
                             "--base-version", "1"});
  ASSERT_EQ(set.status, 0) << set.output;
  EXPECT_EQ(nlohmann::json::parse(set.output, nullptr, false)["version"], 2);
  write_file(policy_file, R"({"all_of": [{"claim": "tee", "in": ["snp"]}]})");
  auto conflict = deployment.cli({"policy", "set", "inbox", "--policy", policy_file.string(), "--base-version", "1"});
  EXPECT_EQ(conflict.status, 1);
  EXPECT_NE(conflict.output.find("conflict"), std::string::npos) << conflict.output;
  auto current = deployment.cli({"policy", "get", "inbox"});
  ASSERT_EQ(current.status, 0) << current.output;
  EXPECT_EQ(nlohmann::json::parse(current.output, nullptr, false)["comment"], "tdx only");
  auto versions = deployment.cli({"policy", "versions", "inbox"});
  ASSERT_EQ(versions.status, 0) << versions.output;
  EXPECT_EQ(nlohmann::json::parse(versions.output, nullptr, false)["versions"].size(), 2u);
  write_file(policy_file, R"({"all_of": [{"claim": "tee", "matches": "sgx"}]})");
  auto invalid = deployment.cli({"policy", "set", "inbox", "--policy", policy_file.string()});
  EXPECT_EQ(invalid.status, 1);
  EXPECT_NE(invalid.output.find("policy_invalid"), std::string::npos) << invalid.output;
}


TEST(KeysService, IssuesShortLivedRedisCredentialsToTheAttestedCallerOnly) {
  ASSERT_NE(g_deployment, nullptr);
  const auto& deployment = *g_deployment;
  auto caller = make_caller(deployment);
  ASSERT_FALSE(caller.token.empty());
  const auto jti = token_payload(caller.token)["jti"].get<std::string>();
  const std::string url = deployment.keys_url + "/redis/credentials";
  const http::HeaderList headers = {{"Authorization", "Attestation " + caller.token}};

  // The token over a certificate for another key: refused, nothing issued.
  auto other_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  auto stolen = deployment.client(&other_key).request("POST", url, headers);
  ASSERT_TRUE(stolen);
  EXPECT_EQ(stolen->status, 401);
  EXPECT_EQ(code_of(stolen), "channel_binding_mismatch");

  // The attested caller: credentials sealed to its HPKE key (aad = jti), never in clear.
  auto issued = deployment.client(&caller.tls_key).request("POST", url, headers);
  ASSERT_TRUE(issued) << issued.error().to_string();
  ASSERT_EQ(issued->status, 200) << issued->body;
  auto body = body_of(*issued);
  EXPECT_EQ(body["jti"], jti);
  EXPECT_EQ(issued->body.find("password"), std::string::npos);
  auto opened = crypto::hpke::open(crypto::hpke::kDefaultSuite,
                                   crypto::base64url_decode(body["enc"].get<std::string>()).value(),
                                   caller.hpke_private_key.reveal(), crypto::as_bytes("cloister-redis-credentials-v1"),
                                   crypto::as_bytes(jti),
                                   crypto::base64url_decode(body["ciphertext"].get<std::string>()).value());
  ASSERT_TRUE(opened) << opened.error().to_string();
  auto credentials = nlohmann::json::parse(opened->begin(), opened->end(), nullptr, false);
  ASSERT_TRUE(credentials.is_object());
  EXPECT_EQ(credentials["prefix"], "itest:");
  EXPECT_EQ(credentials["port"], deployment.redis_port());
  EXPECT_LE(credentials["expires_at"].get<std::int64_t>(), token_payload(caller.token)["exp"].get<std::int64_t>());

  // They work under the prefix and nowhere else.
  redis::ClientOptions options;
  options.port = deployment.redis_port();
  options.ca_pem = deployment.redis_ca_pem();
  options.server_name = "localhost";
  options.username = credentials["username"].get<std::string>();
  options.password = Sensitive<std::string>(credentials["password"].get<std::string>());
  auto client = redis::Client::create(options);
  ASSERT_TRUE(client) << client.error().to_string();
  auto set = (*client)->command({"SET", "itest:greeting", "ciphertext-only-in-real-use"});
  ASSERT_TRUE(set) << set.error().to_string();
  EXPECT_TRUE(set->is_ok());
  auto got = (*client)->command({"GET", "itest:greeting"});
  ASSERT_TRUE(got);
  EXPECT_EQ(got->string, "ciphertext-only-in-real-use");
  auto outside = (*client)->command({"GET", "platform:greeting"});
  ASSERT_FALSE(outside);
  EXPECT_EQ(outside.error().code, ErrorCode::redis_error);
  EXPECT_NE(outside.error().detail.find("NOPERM"), std::string::npos) << outside.error().detail;
  auto admin = (*client)->command({"CONFIG", "GET", "*"});
  ASSERT_FALSE(admin);
  EXPECT_EQ(admin.error().code, ErrorCode::redis_error);

  // Audited, without the password.
  auto audit = deployment.cli({"audit", "--limit", "100"});
  ASSERT_EQ(audit.status, 0) << audit.output;
  EXPECT_NE(audit.output.find("redis_credentials"), std::string::npos);
  EXPECT_EQ(audit.output.find(credentials["password"].get<std::string>()), std::string::npos);
  EXPECT_EQ(deployment.keys_log().find(credentials["password"].get<std::string>()), std::string::npos);
}

}  // namespace
}  // namespace cloister::testing

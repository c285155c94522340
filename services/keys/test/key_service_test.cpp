// cloister-keys through its router (no sockets, injected clock), with real tokens checked by the real
// CallerAuth: release sealed to the caller's attested HPKE key, refusals naming the failed rule,
// channel binding, versions, disabled keys, the admin API and its authentication, the audit log and
// the release metric.
#include "key_service.h"

#include "test_support.h"

#include "cloister/crypto/base64.h"
#include "cloister/crypto/x25519.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace cloister::keys {
namespace {

using namespace std::chrono_literals;
using test::body_of;
using test::call;

constexpr std::string_view kIssuer = "https://attest.test";
const std::string kMeasurement(64, 'a');

// The service-level relying-party policy: cloister-keys' own policy.* defaults.
attestation::Policy service_policy() {
  nlohmann::json document = nlohmann::json::object();
  for (const auto& option : key_service_options()) {
    if (option.key.starts_with("policy.")) document[option.key.substr(7)] = option.default_value;
  }
  return attestation::Policy::from_json(document).value();
}

nlohmann::json prod_policy() {
  return {{"any_of",
           {{{"name", "prod-sgx"},
             {"all_of",
              {{{"claim", "tee"}, {"in", {"sgx", "tdx", "snp"}}},
               {{"claim", "measurement"}, {"equals", kMeasurement}},
               {{"claim", "svn"}, {"min", 2}},
               {{"claim", "debuggable"}, {"equals", false}},
               {{"claim", "tcb_status"}, {"in", {"UpToDate"}}}}}}}}};
}

class KeyServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    signing_ = std::make_unique<attestation::SigningKeys>(attestation::SigningKeys::open(dir_.path() / "signing", clock_).value());
    issuer_ = std::make_unique<attestation::TokenIssuer>(*signing_, std::string(kIssuer), 300s, clock_);
    attestation::TokenVerifierOptions options;
    options.issuer = std::string(kIssuer);
    options.policy = service_policy();
    callers_ = std::make_unique<service::CallerAuth>(std::make_shared<attestation::StaticJwksSource>(signing_->jwks()),
                                                     options, clock_, registry_);
    KeyServiceOptions service_options;
    service_options.state_dir = dir_.path() / "keys";
    auto service = KeyService::create(service_options, clock_, registry_);
    ASSERT_TRUE(service) << service.error().to_string();
    service_ = std::move(*service);
    service_->add_routes(router_, *callers_);
  }

  http::Headers admin() const {
    return {{"Authorization", "Bearer " + test::first_line(dir_.path() / "keys" / "admin-token")},
            {"Content-Type", "application/json"}};
  }

  http::Response create(const std::string& name, const std::string& type,
                        std::optional<nlohmann::json> policy = std::nullopt) {
    nlohmann::json body = {{"name", name}, {"type", type}};
    if (policy) body["policy"] = *policy;
    return call(router_, "POST", "/admin/keys", body.dump(), admin());
  }

  test::Caller caller(attestation::BaseClaims claims = test::sgx_claims()) { return test::make_caller(*issuer_, claims); }

  // A release as the server would hand it over: the token, and the TLS key of the client certificate.
  http::Response release(const test::Caller& who, const std::string& target,
                         std::optional<std::string> spki = std::string("(caller)")) {
    if (spki && *spki == "(caller)") spki = who.spki();
    return call(router_, "POST", target, "", {{"Authorization", "Attestation " + who.token}}, spki);
  }

  // Opens a 200 release with the caller's HPKE private key, as the caller's TEE would.
  crypto::Bytes open(const test::Caller& who, const http::Response& response) {
    auto body = body_of(response);
    auto enc = crypto::base64url_decode(body["enc"].get<std::string>()).value();
    auto ciphertext = crypto::base64url_decode(body["ciphertext"].get<std::string>()).value();
    auto aad = release_aad(body["name"].get<std::string>(), body["version"].get<std::uint64_t>(), body["jti"].get<std::string>());
    auto opened = crypto::hpke::open(crypto::hpke::kDefaultSuite, enc, who.hpke.private_key.reveal(),
                                     crypto::as_bytes(kReleaseInfo), aad, ciphertext);
    EXPECT_TRUE(opened) << opened.error().to_string();
    return opened.value_or(crypto::Bytes{});
  }

  std::string metrics() { return prometheus::TextSerializer().Serialize(registry_.Collect()); }
  // The value of one series (e.g. `cloister_key_releases_total{outcome="ok"}`), -1 when absent.
  double metric(const std::string& series) {
    const auto text = metrics();
    auto at = text.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + series.size() + 2));
  }

  test::TempDir dir_;
  ManualClock clock_ = ManualClock::at_unix(1'700'000'000);
  prometheus::Registry registry_;
  std::unique_ptr<attestation::SigningKeys> signing_;
  std::unique_ptr<attestation::TokenIssuer> issuer_;
  std::unique_ptr<service::CallerAuth> callers_;
  std::unique_ptr<KeyService> service_;
  http::Router router_;
};

TEST_F(KeyServiceTest, AnAttestedCallerGetsTheKeySealedToItsAttestedHpkeKey) {
  ASSERT_EQ(create("db", "aes-256", prod_policy()).status, 201);
  auto enclave = caller();
  auto response = release(enclave, "/keys/db/release");
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("Cache-Control"), "no-store");
  auto body = body_of(response);
  EXPECT_EQ(body["name"], "db");
  EXPECT_EQ(body["version"], 1);
  EXPECT_EQ(body["type"], "aes-256");
  EXPECT_EQ(body["suite"], "HPKE-Base-X25519-SHA256-AES256GCM");
  EXPECT_EQ(body["jti"], test::jti_of(enclave.token));
  const auto key = open(enclave, response);
  ASSERT_EQ(key.size(), 32u);
  EXPECT_EQ(key, service_->store().material("db", std::nullopt)->material.reveal());
  // Never in clear in the response.
  EXPECT_EQ(response.body.find(crypto::base64url_encode(key)), std::string::npos);
  EXPECT_EQ(response.body.find(crypto::hex_encode(key)), std::string::npos);

  // The seal is bound to the key name, version and token: other associated data does not open it.
  auto enc = crypto::base64url_decode(body["enc"].get<std::string>()).value();
  auto ciphertext = crypto::base64url_decode(body["ciphertext"].get<std::string>()).value();
  EXPECT_FALSE(crypto::hpke::open(crypto::hpke::kDefaultSuite, enc, enclave.hpke.private_key.reveal(),
                                  crypto::as_bytes(kReleaseInfo), release_aad("other", 1, body["jti"].get<std::string>()),
                                  ciphertext));
  // Nobody else's HPKE key opens it.
  auto thief = crypto::hpke::generate_key_pair();
  EXPECT_FALSE(crypto::hpke::open(crypto::hpke::kDefaultSuite, enc, thief.private_key.reveal(),
                                  crypto::as_bytes(kReleaseInfo), release_aad("db", 1, body["jti"].get<std::string>()),
                                  ciphertext));
  // A second release (another seal) gives the same key.
  EXPECT_EQ(open(enclave, release(enclave, "/keys/db/release")), key);
  EXPECT_EQ(metric("cloister_key_releases_total{outcome=\"ok\"}"), 2) << metrics();
}

TEST_F(KeyServiceTest, ARefusalIsForbiddenAndNamesTheFailedRule) {
  ASSERT_EQ(create("db", "aes-256", prod_policy()).status, 201);
  auto old_claims = test::sgx_claims();
  old_claims.svn = 1;
  auto response = release(caller(old_claims), "/keys/db/release");
  ASSERT_EQ(response.status, 403) << response.body;
  EXPECT_EQ(response.header("Content-Type"), "application/problem+json");
  auto problem = body_of(response);
  EXPECT_EQ(problem["code"], "key_release_denied");
  EXPECT_EQ(problem["rule"], "prod-sgx: svn min 2");
  EXPECT_EQ(problem["detail"], "prod-sgx: svn is 1");
  EXPECT_EQ(problem["key"], "db");
  EXPECT_EQ(problem["policy_version"], 1);
  ASSERT_EQ(problem["failures"].size(), 1u);
  EXPECT_EQ(problem["failures"][0]["rule"], "svn min 2");
  EXPECT_FALSE(problem.contains("ciphertext"));

  auto other = test::sgx_claims();
  other.measurement = std::string(64, 'f');
  EXPECT_EQ(body_of(release(caller(other), "/keys/db/release"))["rule"],
            "prod-sgx: measurement equals \"" + kMeasurement + "\"");
  auto debug = test::sgx_claims();
  debug.debuggable = true;
  EXPECT_EQ(body_of(release(caller(debug), "/keys/db/release"))["rule"], "prod-sgx: debuggable equals false");
  EXPECT_EQ(metric("cloister_key_releases_total{outcome=\"key_release_denied\"}"), 3) << metrics();
}

TEST_F(KeyServiceTest, SimCallersAreRefusedByDefaultAndOnlyAClauseAllowingSimulationAdmitsThem) {
  // The service lets sim through to the key's policy; the default policy refuses it.
  ASSERT_EQ(create("dev", "aes-256").status, 201);
  auto sim = caller(test::sim_claims());
  auto refused = release(sim, "/keys/dev/release");
  ASSERT_EQ(refused.status, 403) << refused.body;
  EXPECT_EQ(body_of(refused)["rule"], "default: allow_simulated");
  EXPECT_EQ(release(caller(), "/keys/dev/release").status, 200);

  nlohmann::json development = {{"any_of",
                                 {{{"name", "prod"}, {"all_of", {{{"claim", "tee"}, {"in", {"sgx", "tdx", "snp"}}}}}},
                                  {{"name", "dev"}, {"allow_simulated", true}, {"all_of", {{{"claim", "tee"}, {"equals", "sim"}}}}}}}};
  auto put = call(router_, "PUT", "/admin/keys/dev/policy",
                  nlohmann::json{{"policy", development}, {"comment", "development"}, {"base_version", 1}}.dump(), admin());
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(body_of(put)["version"], 2);
  EXPECT_EQ(body_of(put)["changed"], true);
  auto released = release(sim, "/keys/dev/release");
  ASSERT_EQ(released.status, 200) << released.body;
  EXPECT_EQ(open(sim, released).size(), 32u);
}

TEST_F(KeyServiceTest, TheCallerMustHoldTheTokensTlsKeyAndPresentACertificate) {
  ASSERT_EQ(create("db", "aes-256", prod_policy()).status, 201);
  auto enclave = caller();
  auto thief = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  auto stolen = release(enclave, "/keys/db/release", crypto::to_string(thief.public_key().spki_der()));
  EXPECT_EQ(stolen.status, 401);
  EXPECT_EQ(body_of(stolen)["code"], "channel_binding_mismatch");
  auto no_certificate = release(enclave, "/keys/db/release", std::nullopt);
  EXPECT_EQ(no_certificate.status, 401);
  EXPECT_EQ(body_of(no_certificate)["code"], "client_certificate_required");
  auto no_token = call(router_, "POST", "/keys/db/release", "", {}, enclave.spki());
  EXPECT_EQ(body_of(no_token)["code"], "attestation_required");
  auto bearer = call(router_, "POST", "/keys/db/release", "", admin(), enclave.spki());
  EXPECT_EQ(body_of(bearer)["code"], "attestation_required");  // an admin token is not an attestation
  // An expired token: the clock moved past exp + skew.
  clock_.advance(400s);
  auto expired = release(enclave, "/keys/db/release");
  EXPECT_EQ(body_of(expired)["code"], "token_expired");
  EXPECT_EQ(metric("cloister_key_releases_total{outcome=\"channel_binding_mismatch\"}"), 1) << metrics();
}

TEST_F(KeyServiceTest, OldVersionsAreReleasedByExplicitVersion) {
  ASSERT_EQ(create("db", "aes-256", prod_policy()).status, 201);
  auto enclave = caller();
  const auto v1 = open(enclave, release(enclave, "/keys/db/release"));
  auto rotated = call(router_, "POST", "/admin/keys/db/rotate", "{}", admin());
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  EXPECT_EQ(body_of(rotated)["current_version"], 2);
  auto current = release(enclave, "/keys/db/release");
  ASSERT_EQ(current.status, 200);
  EXPECT_EQ(body_of(current)["version"], 2);
  EXPECT_NE(open(enclave, current), v1);
  auto first = release(enclave, "/keys/db/release?version=1");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(body_of(first)["version"], 1);
  EXPECT_EQ(open(enclave, first), v1);
  EXPECT_EQ(release(enclave, "/keys/db/release?version=3").status, 404);
  for (const auto* bad : {"0", "-1", "one", "1.0", "99999999999999999999"}) {
    EXPECT_EQ(body_of(release(enclave, std::string("/keys/db/release?version=") + bad))["code"], "invalid_argument") << bad;
  }
  EXPECT_EQ(body_of(release(enclave, "/keys/missing/release"))["code"], "not_found");
}

TEST_F(KeyServiceTest, HpkeKeyPairsAreReleasedAsTheirPrivateKey) {
  auto created = create("inbox", "hpke-x25519", prod_policy());
  ASSERT_EQ(created.status, 201) << created.body;
  const auto public_key = body_of(created)["versions"][0]["public_key"].get<std::string>();
  auto enclave = caller();
  auto response = release(enclave, "/keys/inbox/release");
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(body_of(response)["public_key"], public_key);
  auto private_key = open(enclave, response);
  EXPECT_EQ(crypto::base64url_encode(crypto::x25519_from_private(private_key)->public_key), public_key);
}

TEST_F(KeyServiceTest, ADisabledKeyIsNeverReleased) {
  ASSERT_EQ(create("db", "model-aes-256", prod_policy()).status, 201);
  ASSERT_EQ(call(router_, "POST", "/admin/keys/db/disable", "{}", admin()).status, 200);
  auto refused = release(caller(), "/keys/db/release");
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(body_of(refused)["rule"], "disabled");
  EXPECT_EQ(call(router_, "POST", "/admin/keys/db/disable", "{}", admin()).status, 409);
}

TEST_F(KeyServiceTest, AdminRoutesNeedTheAdminBearerToken) {
  const std::vector<std::pair<std::string, std::string>> routes = {
      {"POST", "/admin/keys"},           {"GET", "/admin/keys"},          {"GET", "/admin/keys/db"},
      {"POST", "/admin/keys/db/rotate"}, {"GET", "/admin/keys/db/policy"}, {"PUT", "/admin/keys/db/policy"},
      {"GET", "/admin/audit"},           {"POST", "/admin/keys/db/disable"}};
  auto enclave = caller();
  for (const auto& [method, path] : routes) {
    for (const http::Headers& headers :
         {http::Headers{}, http::Headers{{"Authorization", "Bearer cla_wrong"}},
          http::Headers{{"Authorization", "Attestation " + enclave.token}}}) {
      auto response = call(router_, method, path, "{}", headers, enclave.spki());
      EXPECT_EQ(response.status, 401) << method << " " << path;
      EXPECT_EQ(body_of(response)["code"], "unauthenticated");
      EXPECT_EQ(response.header("WWW-Authenticate"), "Bearer realm=\"cloister-keys admin\"");
    }
  }
  EXPECT_EQ(metric("cloister_keys_admin_auth_failures_total"), 24) << metrics();
  EXPECT_EQ(service_->store().list()->size(), 0u);
}

TEST_F(KeyServiceTest, AdminApiCreatesListsShowsAndVersionsPolicies) {
  auto created = create("db", "aes-256");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(body_of(created)["policy"]["policy_hash"], ReleasePolicy::default_policy().hash());
  EXPECT_EQ(body_of(created)["created_by"], "admin");
  EXPECT_EQ(create("db", "aes-256").status, 409);
  EXPECT_EQ(body_of(create("x", "rsa-2048"))["code"], "invalid_argument");
  EXPECT_EQ(body_of(create("bad name", "aes-256"))["code"], "invalid_argument");
  auto invalid = create("y", "aes-256", nlohmann::json{{"all_of", {{{"claim", "svn"}, {"max", 1}}}}});
  EXPECT_EQ(invalid.status, 400);
  EXPECT_EQ(body_of(invalid)["code"], "policy_invalid");
  EXPECT_EQ(body_of(call(router_, "POST", "/admin/keys", R"({"name":"z","type":"aes-256","extra":1})", admin()))["code"],
            "invalid_json");
  ASSERT_EQ(create("model", "model-aes-256", prod_policy()).status, 201);

  auto list = body_of(call(router_, "GET", "/admin/keys", "", admin()));
  ASSERT_EQ(list["keys"].size(), 2u);
  EXPECT_EQ(list["keys"][0]["name"], "db");
  EXPECT_EQ(list["keys"][1]["type"], "model-aes-256");
  auto shown = call(router_, "GET", "/admin/keys/model", "", admin());
  ASSERT_EQ(shown.status, 200);
  EXPECT_EQ(body_of(shown)["versions"].size(), 1u);
  EXPECT_EQ(call(router_, "GET", "/admin/keys/none", "", admin()).status, 404);

  auto policy = body_of(call(router_, "GET", "/admin/keys/model/policy", "", admin()));
  EXPECT_EQ(policy["version"], 1);
  EXPECT_EQ(policy["policy"], ReleasePolicy::from_json(prod_policy())->to_json());
  // A bare policy document is accepted too; the same policy again makes no version.
  auto same = call(router_, "PUT", "/admin/keys/model/policy", prod_policy().dump(), admin());
  ASSERT_EQ(same.status, 200) << same.body;
  EXPECT_EQ(body_of(same)["changed"], false);
  auto conflict = call(router_, "PUT", "/admin/keys/model/policy",
                       nlohmann::json{{"policy", ReleasePolicy::default_policy().to_json()}, {"base_version", 7}}.dump(),
                       admin());
  EXPECT_EQ(conflict.status, 409);
  ASSERT_EQ(call(router_, "PUT", "/admin/keys/model/policy",
                 nlohmann::json{{"policy", ReleasePolicy::default_policy().to_json()}, {"comment", "loosen"}}.dump(), admin())
                .status,
            200);
  auto versions = body_of(call(router_, "GET", "/admin/keys/model/policy/versions", "", admin()));
  EXPECT_EQ(versions["current"], 2);
  ASSERT_EQ(versions["versions"].size(), 2u);
  EXPECT_EQ(versions["versions"][0]["comment"], "loosen");
  EXPECT_EQ(body_of(call(router_, "PUT", "/admin/keys/model/policy", R"({"any_of":[]})", admin()))["code"], "policy_invalid");
}

TEST_F(KeyServiceTest, TheAuditLogHasEveryReleaseRefusalAndChangeAndNoSecrets) {
  ASSERT_EQ(create("db", "aes-256", prod_policy()).status, 201);
  auto enclave = caller();
  const auto key = open(enclave, release(enclave, "/keys/db/release"));
  auto stale = test::sgx_claims();
  stale.tcb_status = "OutOfDate";
  auto stale_caller = caller(stale);
  ASSERT_EQ(release(stale_caller, "/keys/db/release").status, 403);
  auto thief = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  ASSERT_EQ(release(enclave, "/keys/db/release", crypto::to_string(thief.public_key().spki_der())).status, 401);

  auto response = call(router_, "GET", "/admin/audit?limit=10", "", admin());
  ASSERT_EQ(response.status, 200) << response.body;
  auto entries = body_of(response)["entries"];
  ASSERT_EQ(entries.size(), 4u) << entries.dump(2);
  // Newest first: the stolen-token attempt, the refusal, the release, the creation.
  EXPECT_EQ(entries[0]["outcome"], "refused");
  EXPECT_EQ(entries[0]["code"], "channel_binding_mismatch");
  EXPECT_EQ(entries[0]["who"]["type"], "unauthenticated");
  EXPECT_EQ(entries[0]["key"], "db");
  EXPECT_EQ(entries[0]["client"], "192.0.2.7");
  EXPECT_EQ(entries[1]["outcome"], "denied");
  EXPECT_EQ(entries[1]["code"], "key_release_denied");
  EXPECT_EQ(entries[1]["rule"], "prod-sgx: tcb_status in [\"UpToDate\"]");
  EXPECT_EQ(entries[1]["who"]["jti"], test::jti_of(stale_caller.token));
  EXPECT_EQ(entries[2]["action"], "release");
  EXPECT_EQ(entries[2]["outcome"], "ok");
  EXPECT_EQ(entries[2]["version"], 1);
  EXPECT_EQ(entries[2]["who"]["type"], "attested");
  EXPECT_EQ(entries[2]["who"]["tee"], "sgx");
  EXPECT_EQ(entries[2]["who"]["measurement"], kMeasurement);
  EXPECT_EQ(entries[2]["who"]["jti"], test::jti_of(enclave.token));
  EXPECT_EQ(entries[3]["action"], "create");
  EXPECT_EQ(entries[3]["who"]["name"], "admin");
  // No key, no token, no credential.
  EXPECT_EQ(response.body.find(crypto::base64url_encode(key)), std::string::npos);
  EXPECT_EQ(response.body.find(crypto::hex_encode(key)), std::string::npos);
  EXPECT_EQ(response.body.find(enclave.token), std::string::npos);
  EXPECT_EQ(response.body.find(test::first_line(dir_.path() / "keys" / "admin-token")), std::string::npos);

  EXPECT_EQ(body_of(call(router_, "GET", "/admin/audit?limit=1", "", admin()))["entries"].size(), 1u);
  EXPECT_EQ(body_of(call(router_, "GET", "/admin/audit?key=other", "", admin()))["entries"].size(), 0u);
  EXPECT_EQ(call(router_, "GET", "/admin/audit?limit=0", "", admin()).status, 400);
  EXPECT_EQ(call(router_, "GET", "/admin/audit?limit=5000", "", admin()).status, 400);
}

TEST_F(KeyServiceTest, TheStateSurvivesARestartWithTheSameMasterKey) {
  ASSERT_EQ(create("db", "aes-256", prod_policy()).status, 201);
  auto enclave = caller();
  const auto key = open(enclave, release(enclave, "/keys/db/release"));
  router_ = http::Router();
  service_.reset();
  prometheus::Registry registry;
  KeyServiceOptions options;
  options.state_dir = dir_.path() / "keys";
  auto restarted = KeyService::create(options, clock_, registry);
  ASSERT_TRUE(restarted) << restarted.error().to_string();
  (*restarted)->add_routes(router_, *callers_);
  EXPECT_EQ(open(enclave, release(enclave, "/keys/db/release")), key);
  // The master key file must stay owner-only.
  (*restarted).reset();
  std::filesystem::permissions(dir_.path() / "keys" / "master.key", std::filesystem::perms::others_read,
                               std::filesystem::perm_options::add);
  auto refused = KeyService::create(options, clock_, registry);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::config_invalid);
}

}  // namespace
}  // namespace cloister::keys

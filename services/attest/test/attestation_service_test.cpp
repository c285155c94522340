// The attestation service through its router (no sockets), with an injected clock: tokens bound to the
// policy in force and the nonce, refusals naming their rule, the admin API, dry-runs, scheduled key
// rotation with pre-publication and overlap, rate limits and persistence across restarts.
#include "attestation_service.h"

#include "cloister/attestation/token_verifier.h"
#include "cloister/crypto/base64.h"
#include "cloister/crypto/hash.h"
#include "dcap_test_platform.h"
#include "service_test_support.h"

#include <gtest/gtest.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <fstream>

namespace cloister::attest {
namespace {

using namespace std::chrono_literals;
using test::body_of;
using test::call;

constexpr std::string_view kIssuer = "https://attest.test";

nlohmann::json payload_of(const std::string& token) {
  auto first = token.find('.');
  auto second = token.find('.', first + 1);
  auto bytes = crypto::base64url_decode(token.substr(first + 1, second - first - 1)).value();
  return nlohmann::json::parse(bytes.begin(), bytes.end());
}

nlohmann::json header_of(const std::string& token) {
  auto bytes = crypto::base64url_decode(token.substr(0, token.find('.'))).value();
  return nlohmann::json::parse(bytes.begin(), bytes.end());
}

std::string read_line(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

class AttestationServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { start(); }

  void start(std::function<void(AttestationServiceOptions&)> adjust = {}) {
    router_.reset();
    service_.reset();
    AttestationServiceOptions options;
    options.state_dir = state_.path() / "attest";
    options.formats.sim_platform_keys.push_back(platform_.public_key);
    options.seed_policy.allow_simulated = true;
    options.key_rotation_period = 1h;
    options.key_prepublish = 10min;
    options.key_retention = 2h;
    if (adjust) adjust(options);
    auto service = AttestationService::create(std::move(options), clock_, registry_);
    ASSERT_TRUE(service) << service.error().to_string();
    service_ = std::move(*service);
    service_->set_issuer(std::string(kIssuer));
    router_ = std::make_unique<http::Router>();
    service_->add_routes(*router_);
  }

  std::string admin_token() const { return read_line(state_.path() / "attest" / "admin-token"); }
  http::Headers admin_headers() const { return {{"Authorization", "Bearer " + admin_token()}}; }

  static std::string submission_body(const test::SimPlatform::Submission& submission,
                                     std::optional<std::string> nonce = std::nullopt) {
    nlohmann::json body = {{"evidence", crypto::base64url_encode(submission.evidence)},
                           {"runtime_data", crypto::base64url_encode(submission.runtime_data)}};
    if (nonce) body["nonce"] = *nonce;
    return body.dump();
  }

  http::Response attest(const test::SimPlatform& platform, std::optional<std::string> nonce = std::nullopt) {
    return call(*router_, "POST", "/attest/sim", submission_body(platform.submit(nonce), nonce));
  }

  std::string measurement() const {
    auto claims = payload_of(body_of(call(*router_, "POST", "/attest/sim", submission_body(platform_.submit())))["token"]);
    return claims["measurement"];
  }

  attestation::TokenVerifier verifier_for(const nlohmann::json& jwks) {
    attestation::TokenVerifierOptions options;
    options.issuer = std::string(kIssuer);
    options.policy.allow_simulated = true;
    return attestation::TokenVerifier(std::make_shared<attestation::StaticJwksSource>(jwks), options, clock_);
  }

  test::TempDir state_;
  test::SimPlatform platform_;
  ManualClock clock_ = ManualClock::at_unix(1'700'000'000);
  prometheus::Registry registry_;
  std::unique_ptr<AttestationService> service_;
  std::unique_ptr<http::Router> router_;
};

TEST_F(AttestationServiceTest, IssuesATokenCarryingThePolicyHashAndTheNonce) {
  auto nonce_response = call(*router_, "POST", "/attest/nonce");
  ASSERT_EQ(nonce_response.status, 200) << nonce_response.body;
  const std::string nonce = body_of(nonce_response)["nonce"];
  EXPECT_EQ(body_of(nonce_response)["expires_in"], 300);

  auto response = attest(platform_, nonce);
  ASSERT_EQ(response.status, 200) << response.body;
  auto body = body_of(response);
  const auto current = service_->policies().current("sim");
  EXPECT_EQ(body["policy_version"], 1);
  auto claims = payload_of(body["token"]);
  EXPECT_EQ(claims["policy_hash"], current->hash);
  EXPECT_EQ(claims["nonce"], nonce);
  EXPECT_EQ(claims["runtime"]["nonce"], nonce);
  EXPECT_EQ(claims["iss"], kIssuer);
  EXPECT_EQ(claims["iat"], 1'700'000'000);

  // The same nonce again: refused, naming the rule.
  auto replay = attest(platform_, nonce);
  EXPECT_EQ(replay.status, 401);
  EXPECT_EQ(body_of(replay)["code"], "nonce_invalid");
  EXPECT_EQ(body_of(replay)["rule"], "nonce");
  // A nonce the service never issued.
  auto forged = attest(platform_, std::string("n1.1700000300.AAAAAAAAAAAAAAAAAAAAAA.") + std::string(43, 'A'));
  EXPECT_EQ(body_of(forged)["code"], "nonce_invalid");
  // An expired one.
  const std::string old_nonce = body_of(call(*router_, "POST", "/attest/nonce"))["nonce"];
  clock_.advance(301s);
  EXPECT_EQ(body_of(attest(platform_, old_nonce))["code"], "nonce_invalid");
}

TEST_F(AttestationServiceTest, ARefusalNamesTheRuleThatFailed) {
  // Each refusal: problem+json with the code, the rule, the format and the policy version.
  auto put = call(*router_, "PUT", "/admin/policies/sim",
                  nlohmann::json{{"allow_simulated", true}, {"measurements", {std::string(96, 'c')}}}.dump(),
                  admin_headers());
  ASSERT_EQ(put.status, 200) << put.body;
  auto refused = attest(platform_);
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(refused.header("Content-Type"), "application/problem+json");
  auto problem = body_of(refused);
  EXPECT_EQ(problem["code"], "policy_measurement_not_allowed");
  EXPECT_EQ(problem["rule"], "measurements");
  EXPECT_EQ(problem["detail"], "measurement not on the allow-list");
  EXPECT_EQ(problem["format"], "sim");
  EXPECT_EQ(problem["policy_version"], 2);
  EXPECT_EQ(problem["request_id"], "test-request");

  // Debug, SVN and product id, each with its own rule.
  ASSERT_EQ(call(*router_, "PUT", "/admin/policies/sim",
                 nlohmann::json{{"allow_simulated", true}, {"min_svn", 2}, {"product_ids", {7}}}.dump(), admin_headers())
                .status,
            200);
  EXPECT_EQ(attest(platform_).status, 200);
  test::SimPlatform debug_platform(/*debuggable=*/true);
  test::SimPlatform old_platform(false, /*svn=*/1);
  test::SimPlatform other_product(false, 3, /*product_id=*/8);
  start([&](AttestationServiceOptions& options) {
    for (const auto* platform : {&debug_platform, &old_platform, &other_product}) {
      options.formats.sim_platform_keys.push_back(platform->public_key);
    }
  });
  EXPECT_EQ(body_of(attest(debug_platform))["rule"], "allow_debug");
  EXPECT_EQ(body_of(attest(debug_platform))["code"], "policy_debug_not_allowed");
  EXPECT_EQ(body_of(attest(old_platform))["rule"], "min_svn");
  EXPECT_EQ(body_of(attest(old_platform))["detail"], "svn 1 < 2");
  EXPECT_EQ(body_of(attest(other_product))["rule"], "product_ids");

  // Evidence, runtime data, format and request problems name their category.
  auto submission = platform_.submit();
  submission.evidence[30] ^= 1;
  auto tampered = call(*router_, "POST", "/attest/sim", submission_body(submission));
  EXPECT_EQ(body_of(tampered)["code"], "evidence_signature_invalid");
  EXPECT_EQ(body_of(tampered)["rule"], "evidence");
  auto swapped = platform_.submit();
  swapped.runtime_data = platform_.submit().runtime_data;
  EXPECT_EQ(body_of(call(*router_, "POST", "/attest/sim", submission_body(swapped)))["rule"], "runtime_data");
  auto unknown = call(*router_, "POST", "/attest/tpm", submission_body(platform_.submit()));
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(body_of(unknown)["rule"], "format");
  auto no_collateral_object = nlohmann::json::parse(submission_body(platform_.submit()));
  no_collateral_object["collateral"] = "x";
  EXPECT_EQ(body_of(call(*router_, "POST", "/attest/sim", no_collateral_object.dump()))["rule"], "request");
  // Required runtime data: a policy that demands a nonce refuses evidence without one.
  ASSERT_EQ(call(*router_, "PUT", "/admin/policies/sim",
                 nlohmann::json{{"allow_simulated", true}, {"required_runtime_data", {"nonce"}}}.dump(), admin_headers())
                .status,
            200);
  auto stale = attest(platform_);
  EXPECT_EQ(body_of(stale)["code"], "policy_runtime_data_missing");
  EXPECT_EQ(body_of(stale)["rule"], "required_runtime_data");
  const std::string nonce = body_of(call(*router_, "POST", "/attest/nonce"))["nonce"];
  EXPECT_EQ(attest(platform_, nonce).status, 200);
}

TEST_F(AttestationServiceTest, TheAdminApiNeedsTheCredentialAndKeepsVersions) {
  for (const auto& headers : {http::Headers{}, http::Headers{{"Authorization", "Bearer nope"}},
                              http::Headers{{"Authorization", "Basic " + admin_token()}}}) {
    auto refused = call(*router_, "GET", "/admin/policies/sim", {}, headers);
    EXPECT_EQ(refused.status, 401);
    EXPECT_EQ(body_of(refused)["code"], "unauthenticated");
    EXPECT_TRUE(refused.header("WWW-Authenticate").has_value());
    EXPECT_EQ(call(*router_, "PUT", "/admin/policies/sim", "{}", headers).status, 401);
  }
  // The unchanged policy proves the refused PUTs did nothing.
  auto current = call(*router_, "GET", "/admin/policies/sim", {}, admin_headers());
  ASSERT_EQ(current.status, 200) << current.body;
  EXPECT_EQ(body_of(current)["version"], 1);
  EXPECT_EQ(body_of(current)["author"], "config");

  const std::string measurement = this->measurement();
  auto put = call(*router_, "PUT", "/admin/policies/sim",
                  nlohmann::json{{"policy", {{"allow_simulated", true}, {"measurements", {measurement}}}},
                                 {"comment", "pin the test binary"},
                                 {"base_version", 1}}
                      .dump(),
                  admin_headers());
  ASSERT_EQ(put.status, 200) << put.body;
  auto version = body_of(put);
  EXPECT_EQ(version["version"], 2);
  EXPECT_EQ(version["author"], "admin");
  EXPECT_EQ(version["changed"], true);
  EXPECT_EQ(version["comment"], "pin the test binary");
  // The token names exactly this version's hash.
  auto token = body_of(attest(platform_))["token"];
  EXPECT_EQ(payload_of(token)["policy_hash"], version["policy_hash"]);

  // A stale base version conflicts; an invalid document is refused; unknown formats are not found.
  auto conflict = call(*router_, "PUT", "/admin/policies/sim",
                       nlohmann::json{{"policy", {{"allow_simulated", true}}}, {"base_version", 1}}.dump(), admin_headers());
  EXPECT_EQ(conflict.status, 409);
  EXPECT_EQ(body_of(call(*router_, "PUT", "/admin/policies/sim", R"({"min_svn":-1})", admin_headers()))["code"],
            "policy_invalid");
  EXPECT_EQ(body_of(call(*router_, "PUT", "/admin/policies/sim", R"({"policy":{},"author":"eve"})", admin_headers()))["code"],
            "invalid_json");
  EXPECT_EQ(call(*router_, "GET", "/admin/policies/tpm", {}, admin_headers()).status, 404);
  EXPECT_EQ(call(*router_, "PUT", "/admin/policies/tpm", "{}", admin_headers()).status, 404);

  auto versions = call(*router_, "GET", "/admin/policies/sim/versions", {}, admin_headers());
  ASSERT_EQ(versions.status, 200);
  auto list = body_of(versions);
  EXPECT_EQ(list["current"], 2);
  ASSERT_EQ(list["versions"].size(), 2u);
  EXPECT_EQ(list["versions"][0]["version"], 2);  // newest first
  EXPECT_EQ(list["versions"][1]["author"], "config");

  // The public view: every format's version and hash, no authors.
  auto public_view = body_of(call(*router_, "GET", "/policy"));
  EXPECT_EQ(public_view["policies"]["sim"]["version"], 2);
  EXPECT_EQ(public_view["policies"]["sim"]["policy_hash"], version["policy_hash"]);
  EXPECT_FALSE(public_view["policies"]["sim"].contains("author"));
  EXPECT_EQ(body_of(call(*router_, "GET", "/admin/policies", {}, admin_headers()))["policies"]["sim"]["version"], 2);

  // Persisted: a restart (same state directory, same admin credential) has the same history.
  start();
  auto after = call(*router_, "GET", "/admin/policies/sim", {}, admin_headers());
  ASSERT_EQ(after.status, 200);
  EXPECT_EQ(body_of(after)["version"], 2);
  EXPECT_EQ(body_of(after)["policy_hash"], version["policy_hash"]);
  EXPECT_EQ(payload_of(body_of(attest(platform_))["token"])["policy_hash"], version["policy_hash"]);
}

TEST_F(AttestationServiceTest, DryRunJudgesEveryRuleAndNeverIssuesAToken) {
  const auto submission = platform_.submit();
  nlohmann::json request = {{"evidence", crypto::base64url_encode(submission.evidence)},
                            {"runtime_data", crypto::base64url_encode(submission.runtime_data)},
                            {"policy", {{"allow_simulated", true}, {"min_svn", 10}, {"measurements", {std::string(96, 'c')}}}}};
  auto response = call(*router_, "POST", "/attest/sim/dry-run", request.dump());
  ASSERT_EQ(response.status, 200) << response.body;
  auto report = body_of(response);
  EXPECT_EQ(report["dry_run"], true);
  EXPECT_EQ(report["verdict"], "fail");
  EXPECT_TRUE(report["token"].is_null());
  EXPECT_EQ(report["runtime_data_binding"], "checked");
  EXPECT_EQ(report["policy"]["source"], "draft");
  EXPECT_EQ(report["claims"]["tee"], "sim");
  EXPECT_EQ(report["claims"]["svn"], 3);
  std::map<std::string, std::string> results;
  for (const auto& rule : report["rules"]) results[rule["rule"]] = rule["result"];
  EXPECT_EQ(results["measurements"], "fail");
  EXPECT_EQ(results["min_svn"], "fail");
  EXPECT_EQ(results["allow_debug"], "pass");
  EXPECT_EQ(results["allow_simulated"], "pass");
  EXPECT_EQ(results["tcb_statuses"], "pass");
  // Nothing was issued and nothing changed: the policy in force is still version 1.
  EXPECT_EQ(response.body.find("eyJ"), std::string::npos);
  EXPECT_EQ(service_->policies().current("sim")->version, 1u);

  // Without a draft: the policy in force. Without runtime data: the binding is not checked.
  nlohmann::json unbound = {{"evidence", crypto::base64url_encode(platform_.attester->evidence(crypto::Bytes(64, 7)).value())}};
  auto inspected = body_of(call(*router_, "POST", "/attest/sim/dry-run", unbound.dump()));
  EXPECT_EQ(inspected["verdict"], "pass") << inspected.dump();
  EXPECT_EQ(inspected["runtime_data_binding"], "not_checked");
  EXPECT_EQ(inspected["policy"]["source"], "in_force");
  EXPECT_EQ(inspected["policy"]["version"], 1);
  // ... but such evidence never gets a token.
  unbound["runtime_data"] = crypto::base64url_encode(submission.runtime_data);
  EXPECT_EQ(body_of(call(*router_, "POST", "/attest/sim", unbound.dump()))["code"], "report_data_mismatch");

  // A nonce is checked, not consumed.
  const std::string nonce = body_of(call(*router_, "POST", "/attest/nonce"))["nonce"];
  const auto fresh = platform_.submit(nonce);
  nlohmann::json with_nonce = {{"evidence", crypto::base64url_encode(fresh.evidence)},
                               {"runtime_data", crypto::base64url_encode(fresh.runtime_data)},
                               {"nonce", nonce}};
  auto checked = body_of(call(*router_, "POST", "/attest/sim/dry-run", with_nonce.dump()));
  EXPECT_EQ(checked["verdict"], "pass") << checked.dump();
  EXPECT_EQ(checked["rules"].back()["rule"], "nonce");
  EXPECT_EQ(checked["claims"]["nonce"], nonce);
  EXPECT_EQ(call(*router_, "POST", "/attest/sim", with_nonce.dump()).status, 200);

  // An invalid draft, bad evidence.
  request["policy"] = {{"min_svn", "high"}};
  auto invalid = body_of(call(*router_, "POST", "/attest/sim/dry-run", request.dump()));
  EXPECT_EQ(invalid["code"], "policy_invalid");
  EXPECT_EQ(invalid["rule"], "policy");
  auto broken = submission;
  broken.evidence.resize(100);
  auto malformed = body_of(call(*router_, "POST", "/attest/sim/dry-run",
                                nlohmann::json{{"evidence", crypto::base64url_encode(broken.evidence)}}.dump()));
  EXPECT_EQ(malformed["code"], "evidence_malformed");
  EXPECT_EQ(malformed["rule"], "evidence");
}

TEST_F(AttestationServiceTest, SigningKeysRotateOnScheduleWithPrepublicationAndOverlap) {
  auto jwks = [&] { return body_of(call(*router_, "GET", "/.well-known/jwks.json")); };
  auto kids = [](const nlohmann::json& set) {
    std::vector<std::string> out;
    for (const auto& key : set["keys"]) out.push_back(key["kid"]);
    return out;
  };
  const std::string first = service_->keys().current_kid();
  EXPECT_EQ(kids(jwks()), (std::vector<std::string>{first}));
  auto response = call(*router_, "GET", "/.well-known/jwks.json");
  EXPECT_EQ(response.header("Cache-Control"), "public, max-age=60");

  // 45 minutes: nothing yet. 55 (within 10 minutes of the rotation): the next key is published, not signing.
  clock_.advance(45min);
  ASSERT_TRUE(service_->tick());
  EXPECT_EQ(kids(jwks()).size(), 1u);
  clock_.advance(10min);
  ASSERT_TRUE(service_->tick());
  const auto cached_by_relying_party = jwks();
  ASSERT_EQ(kids(cached_by_relying_party).size(), 2u);
  const std::string second = kids(cached_by_relying_party)[1];
  EXPECT_EQ(service_->keys().current_kid(), first);
  clock_.advance(4min);
  const std::string before = body_of(attest(platform_))["token"];
  EXPECT_EQ(header_of(before)["kid"], first);

  // 60 minutes: rotated. The new key signs; the old one stays published.
  clock_.advance(1min);
  ASSERT_TRUE(service_->tick());
  EXPECT_EQ(service_->keys().current_kid(), second);
  const std::string after = body_of(attest(platform_))["token"];
  EXPECT_EQ(header_of(after)["kid"], second);
  EXPECT_EQ(kids(jwks()), (std::vector<std::string>{second, first}));
  // A relying party holding the JWKS cached before the rotation already knows the new key...
  EXPECT_TRUE(verifier_for(cached_by_relying_party).verify(after)) << "pre-publication";
  // ... and one fetching after it still verifies tokens signed before it.
  auto verified = verifier_for(jwks()).verify(before);
  EXPECT_TRUE(verified) << verified.error().to_string();

  // After the retention period (2 h) the old key leaves the JWKS.
  clock_.advance(2h);
  ASSERT_TRUE(service_->tick());
  auto remaining = kids(jwks());
  EXPECT_EQ(std::count(remaining.begin(), remaining.end(), first), 0);
  EXPECT_EQ(std::count(remaining.begin(), remaining.end(), second), 1);
  EXPECT_FALSE(std::filesystem::exists(state_.path() / "attest" / "signing-keys" / (first + ".pem")));
}

TEST_F(AttestationServiceTest, RetentionMustCoverTokenLifetimeAndJwksCache) {
  AttestationServiceOptions options;
  options.state_dir = state_.path() / "other";
  options.token_lifetime = 1h;
  options.key_retention = 1h;
  auto refused = AttestationService::create(options, clock_, registry_);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::config_invalid);
  options.key_retention = 2h;
  options.key_rotation_period = 5min;
  options.key_prepublish = 10min;
  EXPECT_EQ(AttestationService::create(options, clock_, registry_).error().code, ErrorCode::config_invalid);
}

TEST_F(AttestationServiceTest, UnauthenticatedRoutesAreRateLimitedPerClient) {
  start([](AttestationServiceOptions& options) { options.rate_limit = {60, 2, 100}; });
  EXPECT_EQ(call(*router_, "POST", "/attest/nonce").status, 200);
  EXPECT_EQ(call(*router_, "GET", "/.well-known/jwks.json").status, 200);
  auto limited = call(*router_, "POST", "/attest/nonce");
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.header("Retry-After"), "1");
  EXPECT_EQ(body_of(limited)["code"], "too_many_requests");
  EXPECT_EQ(body_of(limited)["rule"], "rate_limit");
  EXPECT_EQ(call(*router_, "POST", "/attest/sim", "{}").status, 429);
  EXPECT_EQ(call(*router_, "GET", "/admin/policies/sim", {}, admin_headers()).status, 429);
  // Another address is not affected; the first recovers as its bucket refills.
  EXPECT_EQ(call(*router_, "POST", "/attest/nonce", {}, {}, "192.0.2.99").status, 200);
  clock_.advance(1s);
  EXPECT_EQ(call(*router_, "POST", "/attest/nonce").status, 200);
}

TEST_F(AttestationServiceTest, SeedPoliciesPerFormatAndCollateralFromTheStore) {
  test::TempDir store;
  attestation::Policy strict;  // sim refused by this seed
  start([&](AttestationServiceOptions& options) {
    options.state_dir = state_.path() / "seeded";
    options.seed_policies["sim"] = strict;
    options.collateral_dir = store.path();
  });
  auto refused = attest(platform_);
  EXPECT_EQ(body_of(refused)["code"], "policy_simulated_not_allowed");
  EXPECT_EQ(body_of(refused)["rule"], "allow_simulated");
  const auto submission = platform_.submit();
  auto report = body_of(call(*router_, "POST", "/attest/sim/dry-run",
                             nlohmann::json{{"evidence", crypto::base64url_encode(submission.evidence)},
                                            {"runtime_data", crypto::base64url_encode(submission.runtime_data)}}
                                 .dump()));
  EXPECT_EQ(report["collateral_source"], "store");
  EXPECT_EQ(report["verdict"], "fail");
}

TEST_F(AttestationServiceTest, ATokenForDcapEvidenceRecordsWhenItsCollateralExpires) {
  // A synthetic DCAP platform (its own root CA pinned) valid at the fixture's clock.
  attestation::test::DcapTestPlatform dcap;
  start([&](AttestationServiceOptions& options) {
    auto sim_keys = options.formats.sim_platform_keys;
    options.formats = dcap.config();
    options.formats.sim_platform_keys = sim_keys;
  });
  const auto submission = platform_.submit();
  crypto::Bytes report_data = crypto::sha256(submission.runtime_data);
  report_data.resize(64, 0);
  nlohmann::json body = {{"evidence", crypto::base64url_encode(dcap.quote(report_data))},
                         {"runtime_data", crypto::base64url_encode(submission.runtime_data)},
                         {"collateral", dcap.collateral().documents}};
  auto answer = call(*router_, "POST", "/attest/sgx", body.dump());
  ASSERT_EQ(answer.status, 200) << answer.body;
  const auto claims = payload_of(body_of(answer)["token"]);
  const auto expiration = claims["x-cloister-format-claims"]["collateral_expiration"].get<std::string>();

  double recorded = 0;
  for (const auto& family : registry_.Collect()) {
    if (family.name != "cloister_attest_collateral_expiry_timestamp_seconds") continue;
    for (const auto& metric : family.metric) {
      for (const auto& label : metric.label) {
        if (label.name == "format" && label.value == "sgx") recorded = metric.gauge.value;
      }
    }
  }
  // The earliest of everything used: here the CRLs' nextUpdate (20 days after the clock).
  EXPECT_EQ(static_cast<std::int64_t>(recorded), attestation::test::DcapTestPlatform::kNow +
                                                      20 * attestation::test::DcapTestPlatform::kDay)
      << expiration;
}

}  // namespace
}  // namespace cloister::attest

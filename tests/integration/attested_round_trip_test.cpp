// The foundation's attested round trip, with real binaries on loopback:
//   `cloister up` (ephemeral ports) → cloister-platform proves itself to cloister-infer over mutual
//   TLS with its attestation token (and verifies the provider's token first), and cloister-infer
//   refuses — each with its own code — an expired token, a token from an unknown signing key, a
//   wrong issuer, a token whose TLS key is not the caller's certificate key, and a sim token when
//   its policy does not allow simulation. Also: /metrics of every binary passes promtool, the npm
//   `jose` library verifies a token through OIDC discovery alone, and the CLI verifies tokens.
#include "harness.h"

#include "cloister/attestation/format_registry.h"
#include "cloister/attestation/runtime_data.h"
#include "cloister/attestation/signing_keys.h"
#include "cloister/attestation/token_issuer.h"
#include "cloister/crypto/base64.h"
#include "cloister/crypto/hash.h"
#include "cloister/crypto/hpke.h"

#include <gtest/gtest.h>

#include <csignal>
#include <fstream>

namespace cloister::testing {
namespace {

namespace fs = std::filesystem;

Platform* g_platform = nullptr;

class PlatformEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    std::string error;
    platform_ = Platform::start(&error);
    ASSERT_TRUE(platform_ != nullptr) << error;
    g_platform = platform_.get();
  }
  void TearDown() override {
    g_platform = nullptr;
    platform_.reset();
  }

 private:
  std::unique_ptr<Platform> platform_;
};

const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new PlatformEnvironment);

// An attested caller made by the test itself: its own TLS key (certificate from the development
// CA), sim evidence for the test binary signed with the development sim-platform key, and a token
// from the real cloister-attest.
struct Caller {
  crypto::PrivateKey tls_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  crypto::Bytes runtime_data;
  attestation::VerifiedEvidence evidence;
  std::string token;
};

Caller make_caller(const Platform& platform) {
  Caller caller;
  auto hpke = crypto::hpke::generate_key_pair();
  caller.runtime_data = attestation::make_runtime_data(caller.tls_key.public_key(), hpke.public_key);
  attestation::AttesterConfig attester_config;
  attester_config.sim.platform_key_path = platform.state_dir() / "sim-platform-key.pem";
  auto attester = attestation::make_attester("sim", attester_config).value();
  auto evidence = attester->evidence(attestation::report_data_for(caller.runtime_data)).value();

  // Verified locally too, so the test can sign tokens of its own over the same claims.
  attestation::FormatConfig formats;
  formats.sim_platform_keys.push_back(
      crypto::PublicKey::from_pem(read_file(platform.state_dir() / "sim-platform.pub.pem")).value());
  auto verifiers = attestation::make_evidence_verifiers(formats);
  attestation::Evidence input{"sim", evidence, caller.runtime_data, std::nullopt};
  attestation::VerificationContext context{SystemClock::instance()};
  caller.evidence = attestation::find(verifiers, "sim").value()->verify(input, {}, context).value();

  auto response = platform.client().post_json(platform.url("attest") + "/attest/sim",
                                              {{"evidence", crypto::base64url_encode(evidence)},
                                               {"runtime_data", crypto::base64url_encode(caller.runtime_data)}});
  EXPECT_TRUE(response) << response.error().to_string();
  EXPECT_EQ(response->status, 200) << response->body;
  caller.token = body_of(*response).value("token", std::string());
  return caller;
}

// A token over the caller's claims, signed by the keys in `keys_dir` at `clock`, for `issuer`.
std::string forge_token(const Caller& caller, const fs::path& keys_dir, const Clock& clock, const std::string& issuer) {
  auto keys = attestation::SigningKeys::open(keys_dir, clock).value();
  attestation::TokenIssuer issuer_of_tokens(keys, issuer, std::chrono::seconds(300), clock);
  return issuer_of_tokens.issue(caller.evidence, caller.runtime_data, std::nullopt, "test").value();
}

Result<http::Response> call_provider(const Platform& platform, const std::string& url, const crypto::PrivateKey* key,
                                     const std::string& token) {
  http::HeaderList headers;
  if (!token.empty()) headers.emplace_back("Authorization", "Attestation " + token);
  return platform.client(key).get(url + "/attestation/caller", headers);
}

TEST(AttestedRoundTrip, EveryServiceIsReadyWithASimToken) {
  ASSERT_NE(g_platform, nullptr);
  auto client = g_platform->client();
  for (const auto* service : {"attest", "keys", "platform", "infer"}) {
    auto ready = client.get(g_platform->url(service) + "/readyz");
    ASSERT_TRUE(ready) << service << ": " << ready.error().to_string();
    EXPECT_EQ(ready->status, 200) << service;
  }
  for (const auto* service : {"keys", "platform", "infer"}) {
    auto attestation = client.get(g_platform->url(service) + "/attestation");
    ASSERT_TRUE(attestation);
    ASSERT_EQ(attestation->status, 200);
    auto document = body_of(*attestation);
    EXPECT_EQ(document["format"], "sim");
    EXPECT_EQ(document["simulated"], true);
    auto claims = token_payload(document["token"].get<std::string>());
    EXPECT_EQ(claims["tee"], "sim") << service;
    EXPECT_EQ(claims["iss"], g_platform->url("attest"));
    // The token carries exactly the runtime data the service serves.
    EXPECT_EQ(claims["runtime"], document["runtime"]);
  }
}

TEST(AttestedRoundTrip, PlatformCallsProviderWithItsTokenOverMutualTls) {
  ASSERT_NE(g_platform, nullptr);
  auto client = g_platform->client();
  auto check = client.get(g_platform->url("platform") + "/v1/provider/check");
  ASSERT_TRUE(check) << check.error().to_string();
  ASSERT_EQ(check->status, 200) << check->body;
  auto result = body_of(*check);
  // What the platform verified about the provider, and what the provider verified about the platform.
  EXPECT_EQ(result["provider"]["tee"], "sim");
  EXPECT_EQ(result["response"]["caller"]["tee"], "sim");
  EXPECT_EQ(result["response"]["caller"]["simulated"], true);
  auto expected_platform = crypto::hex_encode(crypto::sha384(
      crypto::as_bytes(read_file(std::string(CLOISTER_BIN_DIR) + "/cloister-platform"))));
  EXPECT_EQ(result["response"]["caller"]["measurement"], expected_platform);
  auto expected_provider = crypto::hex_encode(crypto::sha384(
      crypto::as_bytes(read_file(std::string(CLOISTER_BIN_DIR) + "/cloister-infer"))));
  EXPECT_EQ(result["provider"]["measurement"], expected_provider);
}

TEST(AttestedRoundTrip, ProviderAcceptsAValidCallerAndRefusesEachBadOneWithItsOwnCode) {
  ASSERT_NE(g_platform, nullptr);
  const auto& platform = *g_platform;
  auto infer = platform.url("infer");
  auto caller = make_caller(platform);
  ASSERT_FALSE(caller.token.empty());

  // Control: the caller's own token over a certificate for its own key.
  auto accepted = call_provider(platform, infer, &caller.tls_key, caller.token);
  ASSERT_TRUE(accepted);
  EXPECT_EQ(accepted->status, 200) << accepted->body;
  EXPECT_EQ(body_of(*accepted)["caller"]["jti"], token_payload(caller.token)["jti"]);

  // No token; a token without a client certificate.
  auto no_token = call_provider(platform, infer, &caller.tls_key, "");
  EXPECT_EQ(code_of(no_token), "attestation_required");
  EXPECT_EQ(no_token->status, 401);
  EXPECT_EQ(code_of(call_provider(platform, infer, nullptr, caller.token)), "client_certificate_required");

  const auto keys_dir = platform.state_dir() / "attest" / "signing-keys";
  const auto issuer = platform.url("attest");

  // Expired: signed by the real key, an hour ago, with a 5-minute lifetime.
  auto past = ManualClock::at_unix(SystemClock::instance().unix_seconds() - 3600);
  auto expired = call_provider(platform, infer, &caller.tls_key, forge_token(caller, keys_dir, past, issuer));
  EXPECT_EQ(code_of(expired), "token_expired");
  EXPECT_EQ(expired->status, 401);

  // A signing key the attestation service never published.
  auto other_keys = make_temp_dir("cloister-other-keys");
  auto unknown = call_provider(platform, infer, &caller.tls_key,
                               forge_token(caller, other_keys / "keys", SystemClock::instance(), issuer));
  EXPECT_EQ(code_of(unknown), "jose_unknown_kid");
  fs::remove_all(other_keys);

  // The real key, but another issuer.
  auto wrong_issuer = call_provider(platform, infer, &caller.tls_key,
                                    forge_token(caller, keys_dir, SystemClock::instance(), "https://attacker.invalid"));
  EXPECT_EQ(code_of(wrong_issuer), "token_wrong_issuer");

  // A valid token presented over a certificate for another key (a stolen token).
  auto thief = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  auto stolen = call_provider(platform, infer, &thief, caller.token);
  EXPECT_EQ(code_of(stolen), "channel_binding_mismatch");
  EXPECT_EQ(stolen->status, 401);

  // A provider whose policy does not allow simulation refuses the same, otherwise valid, call.
  auto strict_dir = make_temp_dir("cloister-strict-infer");
  auto port_file = strict_dir / "port";
  auto state = platform.state_dir();
  auto strict = ChildProcess::spawn(
      {{std::string(CLOISTER_BIN_DIR) + "/cloister-infer", "--set", "port_file=" + port_file.string(), "--set",
        "state_dir=" + (strict_dir / "state").string(), "--set", "tls.ca_file=" + (state / "ca.pem").string(), "--set",
        "tls.issuer_cert_file=" + (state / "ca.pem").string(), "--set",
        "tls.issuer_key_file=" + (state / "ca-key.pem").string(), "--set", "attestation.url=" + issuer, "--set",
        "tee.sim.platform_key_file=" + (state / "sim-platform-key.pem").string()},
       (strict_dir / "log").string(),
       {}});
  ASSERT_TRUE(strict);
  auto port = wait_for_port_file(port_file.string(), std::chrono::seconds(60), &*strict);
  ASSERT_TRUE(port) << port.error().to_string() << read_file(strict_dir / "log");
  auto refused = call_provider(platform, "https://127.0.0.1:" + std::to_string(*port), &caller.tls_key, caller.token);
  EXPECT_EQ(code_of(refused), "policy_simulated_not_allowed");
  EXPECT_EQ(refused->status, 403);
  EXPECT_EQ(strict->stop(std::chrono::seconds(10)), 0);  // graceful exit on SIGTERM
  fs::remove_all(strict_dir);

  // Each refusal is counted by code in the provider's metrics.
  auto metrics = platform.client().get(infer + "/metrics");
  ASSERT_TRUE(metrics);
  for (const auto* code : {"attestation_required", "client_certificate_required", "token_expired", "jose_unknown_kid",
                           "token_wrong_issuer", "channel_binding_mismatch"}) {
    EXPECT_NE(metrics->body.find(std::string("cloister_caller_auth_total{outcome=\"") + code + "\"}"),
              std::string::npos)
        << code;
  }
}

TEST(AttestedRoundTrip, EveryBinaryMetricsPassPromtool) {
  ASSERT_NE(g_platform, nullptr);
  if (std::string(CLOISTER_PROMTOOL).empty()) GTEST_SKIP() << "promtool not installed (Debian package prometheus)";
  auto client = g_platform->client();
  auto dir = make_temp_dir("cloister-metrics");
  for (const auto* service : {"attest", "keys", "platform", "infer"}) {
    auto metrics = client.get(g_platform->url(service) + "/metrics");
    ASSERT_TRUE(metrics);
    ASSERT_EQ(metrics->status, 200);
    EXPECT_NE(metrics->body.find("cloister_http_requests_total"), std::string::npos) << service;
    auto path = dir / (std::string(service) + ".prom");
    std::ofstream(path) << metrics->body;
    auto result = run_command({"/bin/sh", "-c", std::string(CLOISTER_PROMTOOL) + " check metrics < '" + path.string() + "'"},
                              std::chrono::seconds(60));
    EXPECT_EQ(result.status, 0) << service << ": " << result.output;
  }
  fs::remove_all(dir);
}

TEST(AttestedRoundTrip, NodeJoseVerifiesATokenThroughOidcDiscoveryAlone) {
  ASSERT_NE(g_platform, nullptr);
  if (std::string(CLOISTER_NODE).empty()) GTEST_SKIP() << "node not installed";
  auto modules = fs::path(CLOISTER_SOURCE_DIR) / "tests/node/node_modules/jose";
  ASSERT_TRUE(fs::exists(modules)) << "run scripts/setup.sh (npm ci in tests/node)";
  auto attestation = g_platform->client().get(g_platform->url("platform") + "/v1/attestation");
  ASSERT_TRUE(attestation);
  auto token = body_of(*attestation)["token"].get<std::string>();
  auto result = run_command({CLOISTER_NODE, "--test", std::string(CLOISTER_SOURCE_DIR) + "/tests/node/jose_verify.mjs"},
                            std::chrono::seconds(120),
                            {"CLOISTER_ISSUER=" + g_platform->url("attest"), "CLOISTER_TOKEN=" + token,
                             "NODE_EXTRA_CA_CERTS=" + (g_platform->state_dir() / "ca.pem").string()});
  EXPECT_EQ(result.status, 0) << result.output;
  EXPECT_NE(result.output.find("# pass 3"), std::string::npos) << result.output;
}

TEST(AttestedRoundTrip, CliVerifiesTokensAndRefusesSimUnlessAllowed) {
  ASSERT_NE(g_platform, nullptr);
  auto attestation = g_platform->client().get(g_platform->url("platform") + "/v1/attestation");
  ASSERT_TRUE(attestation);
  auto token = body_of(*attestation)["token"].get<std::string>();
  std::vector<std::string> command = {std::string(CLOISTER_BIN_DIR) + "/cloister", "token", "verify", token,
                                      "--issuer", g_platform->url("attest"), "--ca",
                                      (g_platform->state_dir() / "ca.pem").string()};
  auto refused = run_command(command, std::chrono::seconds(60));
  EXPECT_EQ(refused.status, 1);
  EXPECT_NE(refused.output.find("policy_simulated_not_allowed"), std::string::npos) << refused.output;
  command.push_back("--allow-simulated");
  auto accepted = run_command(command, std::chrono::seconds(60));
  EXPECT_EQ(accepted.status, 0) << accepted.output;
  EXPECT_NE(accepted.output.find("\"tee\": \"sim\""), std::string::npos) << accepted.output;

  // `cloister token request` attests the CLI itself, with a one-time nonce.
  auto requested = run_command({std::string(CLOISTER_BIN_DIR) + "/cloister", "token", "request", "--attest",
                                g_platform->url("attest"), "--ca", (g_platform->state_dir() / "ca.pem").string(),
                                "--sim-platform-key", (g_platform->state_dir() / "sim-platform-key.pem").string(),
                                "--nonce"},
                               std::chrono::seconds(60));
  ASSERT_EQ(requested.status, 0) << requested.output;
  auto issued = nlohmann::json::parse(requested.output, nullptr, false);
  ASSERT_TRUE(issued.is_object()) << requested.output;
  auto claims = token_payload(issued["token"].get<std::string>());
  EXPECT_TRUE(claims.contains("nonce"));
}

// Last (gtest runs tests in order within a file): Ctrl-C stops `cloister up` and every service.
TEST(AttestedRoundTrip, ZzInterruptStopsEverything) {
  ASSERT_NE(g_platform, nullptr);
  auto attest = g_platform->url("attest");
  EXPECT_EQ(g_platform->stop(), 0);
  auto after = g_platform->client().get(attest + "/healthz");
  EXPECT_FALSE(after) << "the attestation service still answers after cloister up stopped";
}

}  // namespace
}  // namespace cloister::testing

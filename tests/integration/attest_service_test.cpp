// cloister-attest as a real process (loopback, port 0, real TLS) and `cloister attest verify-evidence`:
//   - policies are versioned, persisted across restarts and changed only with the admin credential;
//     each change is one audit log line (who, version, hash) without secrets;
//   - a refusal is problem+json naming the failing rule; a dry-run never issues a token;
//   - nonces are one-time and carried by the token; unauthenticated routes are rate limited (429 +
//     Retry-After);
//   - the offline CLI verifies sim evidence made here, and — when the registry knows the format —
//     the real SGX, TDX and SNP vectors in ../shared/vectors at a time inside their windows.
#include "harness.h"

#include "cloister/attestation/format_registry.h"
#include "cloister/attestation/runtime_data.h"
#include "cloister/crypto/base64.h"
#include "cloister/crypto/hash.h"
#include "cloister/crypto/hpke.h"
#include "cloister/crypto/random.h"
#include "cloister/crypto/x509.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

namespace cloister::testing {
namespace {

namespace fs = std::filesystem;

const std::string kBin = CLOISTER_BIN_DIR;
const fs::path kVectors = CLOISTER_VECTORS_DIR;

// A development CA, a sim platform key and a state directory for one cloister-attest.
struct Fixture {
  fs::path dir = make_temp_dir("cloister-attest-it");
  fs::path ca = dir / "ca.pem";
  fs::path ca_key = dir / "ca-key.pem";
  fs::path platform_key = dir / "sim-platform-key.pem";
  fs::path platform_public = dir / "sim-platform.pub.pem";
  fs::path state = dir / "state";

  Fixture() {
    auto key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
    crypto::CertificateOptions options;
    options.common_name = "attest integration test CA";
    options.is_ca = true;
    const auto now = SystemClock::instance().unix_seconds();
    options.not_before_unix = now - 3600;
    options.not_after_unix = now + 86400;
    write_file(ca, crypto::issue_certificate(key.public_key(), options, key, nullptr).value().pem());
    write_file(ca_key, key.pem().reveal());
    fs::permissions(ca_key, fs::perms::owner_read | fs::perms::owner_write);
    write_file(platform_public, attestation::sim::load_or_create_platform_key(platform_key).value().pem());
  }
  ~Fixture() {
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }

  http::Client client() const {
    http::ClientOptions options;
    options.ca_pem = read_file(ca);
    options.request_timeout = std::chrono::milliseconds(15000);
    options.max_attempts = 1;
    return http::Client(std::move(options));
  }

  // Sim evidence over fresh keys (and a nonce), as an attested service would send it.
  nlohmann::json submission(std::optional<std::string> nonce = std::nullopt) const {
    auto tls = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
    auto hpke = crypto::hpke::generate_key_pair();
    auto runtime = attestation::make_runtime_data(tls.public_key(), hpke.public_key, nonce);
    attestation::AttesterConfig config;
    config.sim.platform_key_path = platform_key;
    auto evidence = attestation::make_attester("sim", config).value()->evidence(attestation::report_data_for(runtime)).value();
    nlohmann::json body = {{"evidence", crypto::base64url_encode(evidence)}, {"runtime_data", crypto::base64url_encode(runtime)}};
    if (nonce) body["nonce"] = *nonce;
    return body;
  }
};

// One cloister-attest process.
class AttestProcess {
 public:
  AttestProcess(const Fixture& fixture, std::vector<std::string> settings) : fixture_(fixture) {
    const auto port_file = fixture.dir / ("port-" + crypto::random_hex(4));
    log_ = fixture.dir / "attest.log";
    std::vector<std::string> arguments = {kBin + "/cloister-attest",
                                          "--set", "port_file=" + port_file.string(),
                                          "--set", "state_dir=" + fixture.state.string(),
                                          "--set", "log.file=" + log_.string(),
                                          "--set", "tls.ca_file=" + fixture.ca.string(),
                                          "--set", "tls.issuer_cert_file=" + fixture.ca.string(),
                                          "--set", "tls.issuer_key_file=" + fixture.ca_key.string(),
                                          "--set", R"(tls.server_names=["127.0.0.1"])",
                                          "--set", "sim.trusted_platform_key_files=[\"" + fixture.platform_public.string() + "\"]",
                                          "--set", "policy.allow_simulated=true"};
    for (auto& setting : settings) arguments.insert(arguments.end(), {"--set", std::move(setting)});
    auto process = ChildProcess::spawn({arguments, (fixture.dir / "attest.out").string(), {}});
    if (!process) {
      error_ = process.error().to_string();
      return;
    }
    process_.emplace(std::move(*process));
    auto port = wait_for_port_file(port_file.string(), std::chrono::seconds(60), &*process_);
    if (!port) {
      error_ = port.error().to_string() + ": " + read_file(fixture.dir / "attest.out");
      return;
    }
    url_ = "https://127.0.0.1:" + std::to_string(*port);
  }
  ~AttestProcess() { stop(); }
  int stop() { return process_ ? process_->stop(std::chrono::seconds(10)) : -1; }

  bool started() const { return !url_.empty(); }
  const std::string& error() const { return error_; }
  const std::string& url() const { return url_; }
  std::string log() const { return read_file(log_); }

 private:
  const Fixture& fixture_;
  std::optional<ChildProcess> process_;
  std::string url_;
  std::string error_;
  fs::path log_;
};

http::HeaderList bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

Result<http::Response> put_policy(const http::Client& client, const std::string& url, const std::string& token,
                                  const nlohmann::json& body) {
  auto headers = bearer(token);
  headers.emplace_back("Content-Type", "application/json");
  return client.request("PUT", url + "/admin/policies/sim", headers, body.dump());
}

TEST(AttestService, PoliciesAreVersionedPersistedAndChangedOnlyByAnAdmin) {
  Fixture fixture;
  auto client = fixture.client();
  std::string token;
  std::string pinned_hash;
  {
    AttestProcess attest(fixture, {});
    ASSERT_TRUE(attest.started()) << attest.error();
    const auto token_file = fixture.state / "admin-token";
    struct stat info {};
    ASSERT_EQ(::stat(token_file.c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0600u);
    token = read_file(token_file);
    while (!token.empty() && token.back() == '\n') token.pop_back();
    ASSERT_FALSE(token.empty());

    // No credential, a wrong one: 401, and nothing changes.
    auto anonymous = client.get(attest.url() + "/admin/policies/sim");
    ASSERT_TRUE(anonymous) << anonymous.error().to_string();
    EXPECT_EQ(anonymous->status, 401);
    EXPECT_EQ(body_of(*anonymous)["code"], "unauthenticated");
    auto wrong = put_policy(client, attest.url(), "cla_wrong", {{"allow_simulated", false}});
    ASSERT_TRUE(wrong);
    EXPECT_EQ(wrong->status, 401);
    auto seeded = client.get(attest.url() + "/admin/policies/sim", bearer(token));
    ASSERT_TRUE(seeded);
    ASSERT_EQ(seeded->status, 200) << seeded->body;
    EXPECT_EQ(body_of(*seeded)["version"], 1);
    EXPECT_EQ(body_of(*seeded)["author"], "config");
    EXPECT_EQ(body_of(*seeded)["policy"]["allow_simulated"], true);  // cloister up's policy.* still seeds it

    // Version 2 pins another measurement: this evidence is refused, naming the rule.
    auto changed = put_policy(client, attest.url(), token,
                              {{"policy", {{"allow_simulated", true}, {"measurements", {std::string(96, 'c')}}}},
                               {"comment", "pin"}});
    ASSERT_TRUE(changed);
    ASSERT_EQ(changed->status, 200) << changed->body;
    auto refused = client.post_json(attest.url() + "/attest/sim", fixture.submission());
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 403);
    EXPECT_EQ(refused->header("Content-Type"), "application/problem+json");
    auto problem = body_of(*refused);
    EXPECT_EQ(problem["code"], "policy_measurement_not_allowed");
    EXPECT_EQ(problem["rule"], "measurements");
    EXPECT_EQ(problem["policy_version"], 2);

    // Version 3 pins this test binary's measurement: a token, carrying version 3's hash.
    const auto measurement = crypto::hex_encode(crypto::sha384(crypto::as_bytes(read_file("/proc/self/exe"))));
    auto pinned = put_policy(client, attest.url(), token,
                             {{"policy", {{"allow_simulated", true}, {"measurements", {measurement}}}}, {"base_version", 2}});
    ASSERT_TRUE(pinned);
    ASSERT_EQ(pinned->status, 200) << pinned->body;
    pinned_hash = body_of(*pinned)["policy_hash"];
    auto issued = client.post_json(attest.url() + "/attest/sim", fixture.submission());
    ASSERT_TRUE(issued);
    ASSERT_EQ(issued->status, 200) << issued->body;
    EXPECT_EQ(token_payload(body_of(*issued)["token"])["policy_hash"], pinned_hash);
    EXPECT_EQ(body_of(*issued)["policy_version"], 3);

    // A dry-run of a stricter draft: per-rule outcomes, no token, nothing changed.
    auto draft = fixture.submission();
    draft["policy"] = {{"allow_simulated", true}, {"min_svn", 5}};
    auto dry = client.post_json(attest.url() + "/attest/sim/dry-run", draft);
    ASSERT_TRUE(dry);
    ASSERT_EQ(dry->status, 200) << dry->body;
    auto report = body_of(*dry);
    EXPECT_EQ(report["verdict"], "fail");
    EXPECT_TRUE(report["token"].is_null());
    bool svn_failed = false;
    for (const auto& rule : report["rules"]) svn_failed |= rule["rule"] == "min_svn" && rule["result"] == "fail";
    EXPECT_TRUE(svn_failed) << report.dump();

    // The audit trail: one line per change, with who/version/hash and no credential.
    EXPECT_EQ(attest.stop(), 0);
    const auto log = attest.log();
    EXPECT_EQ(log.find(token), std::string::npos) << "the admin token leaked into the log";
    int changes = 0;
    std::istringstream lines(log);
    for (std::string line; std::getline(lines, line);) {
      auto entry = nlohmann::json::parse(line, nullptr, false);
      if (!entry.is_object() || entry.value("msg", "") != "policy changed") continue;
      ++changes;
      EXPECT_EQ(entry["who"], "admin");
      EXPECT_TRUE(entry.contains("version") && entry.contains("policy_hash")) << line;
    }
    EXPECT_EQ(changes, 2);
    EXPECT_NE(log.find("admin authentication failed"), std::string::npos);
  }
  // A restart keeps the versions, the history and the credential.
  AttestProcess restarted(fixture, {});
  ASSERT_TRUE(restarted.started()) << restarted.error();
  auto versions = client.get(restarted.url() + "/admin/policies/sim/versions", bearer(token));
  ASSERT_TRUE(versions);
  ASSERT_EQ(versions->status, 200) << versions->body;
  auto list = body_of(*versions);
  EXPECT_EQ(list["current"], 3);
  ASSERT_EQ(list["versions"].size(), 3u);
  EXPECT_EQ(list["versions"][0]["policy_hash"], pinned_hash);
  auto public_view = client.get(restarted.url() + "/policy");
  ASSERT_TRUE(public_view);
  EXPECT_EQ(body_of(*public_view)["policies"]["sim"]["version"], 3);
}

TEST(AttestService, NoncesAreOneTimeAndTheTokenCarriesTheNonce) {
  Fixture fixture;
  AttestProcess attest(fixture, {});
  ASSERT_TRUE(attest.started()) << attest.error();
  auto client = fixture.client();
  auto issued = client.request("POST", attest.url() + "/attest/nonce");
  ASSERT_TRUE(issued);
  ASSERT_EQ(issued->status, 200);
  const std::string nonce = body_of(*issued)["nonce"];
  const auto submission = fixture.submission(nonce);
  auto first = client.post_json(attest.url() + "/attest/sim", submission);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200) << first->body;
  EXPECT_EQ(token_payload(body_of(*first)["token"])["nonce"], nonce);
  auto replay = client.post_json(attest.url() + "/attest/sim", submission);
  ASSERT_TRUE(replay);
  EXPECT_EQ(replay->status, 401);
  EXPECT_EQ(body_of(*replay)["code"], "nonce_invalid");
  EXPECT_EQ(body_of(*replay)["rule"], "nonce");
}

TEST(AttestService, UnauthenticatedRoutesAnswer429WithRetryAfter) {
  Fixture fixture;
  AttestProcess attest(fixture, {"rate_limit.requests_per_minute=1", "rate_limit.burst=2"});
  ASSERT_TRUE(attest.started()) << attest.error();
  auto client = fixture.client();
  for (int i = 0; i < 2; ++i) {
    auto allowed = client.request("POST", attest.url() + "/attest/nonce");
    ASSERT_TRUE(allowed);
    EXPECT_EQ(allowed->status, 200) << i;
  }
  auto limited = client.request("POST", attest.url() + "/attest/nonce");
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->status, 429);
  EXPECT_EQ(body_of(*limited)["code"], "too_many_requests");
  ASSERT_TRUE(limited->header("Retry-After").has_value());
  EXPECT_GE(std::stoi(std::string(*limited->header("Retry-After"))), 1);
  auto jwks = client.get(attest.url() + "/.well-known/jwks.json");
  ASSERT_TRUE(jwks);
  EXPECT_EQ(jwks->status, 429);
  // Probes are not limited: the service stays observable.
  auto health = client.get(attest.url() + "/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto metrics = client.get(attest.url() + "/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("cloister_attest_rate_limited_total"), std::string::npos);
}

// ---- the offline verifier ----

CommandResult cli(std::vector<std::string> arguments) {
  arguments.insert(arguments.begin(), {kBin + "/cloister", "attest", "verify-evidence"});
  return run_command(arguments, std::chrono::seconds(60));
}

// The JSON document in the CLI's output (claims, or the refusal); the human report has no braces.
nlohmann::json json_in(const std::string& output) {
  auto first = output.find('{');
  auto last = output.rfind('}');
  if (first == std::string::npos || last == std::string::npos) return nullptr;
  return nlohmann::json::parse(output.substr(first, last - first + 1), nullptr, false);
}

TEST(AttestCli, VerifiesSimEvidenceOffline) {
  Fixture fixture;
  const auto submission = fixture.submission();
  const auto evidence = crypto::base64url_decode(submission["evidence"].get<std::string>()).value();
  const auto runtime = crypto::base64url_decode(submission["runtime_data"].get<std::string>()).value();
  write_file(fixture.dir / "evidence.bin", crypto::to_string(evidence));
  write_file(fixture.dir / "evidence.hex", "0x" + crypto::hex_encode(evidence) + "\n");
  write_file(fixture.dir / "runtime.json", crypto::to_string(runtime));
  const std::string trust = fixture.platform_public.string();

  auto verified = cli({"--format", "sim", "--evidence", (fixture.dir / "evidence.bin").string(), "--trust-sim-key", trust});
  ASSERT_EQ(verified.status, 0) << verified.output;
  auto claims = json_in(verified.output);
  EXPECT_EQ(claims["tee"], "sim");
  EXPECT_EQ(claims["tcb_status"], "Simulated");
  EXPECT_EQ(claims["debuggable"], false);
  EXPECT_NE(verified.output.find("not checked"), std::string::npos);
  EXPECT_NE(verified.output.find("SIMULATED"), std::string::npos);

  // Hex text; with the runtime data the binding is checked and the claims carry it.
  auto bound = cli({"--format", "sim", "--evidence", (fixture.dir / "evidence.hex").string(), "--trust-sim-key", trust,
                    "--runtime-data", (fixture.dir / "runtime.json").string(), "--at", "2030-01-01T00:00:00+01:00"});
  ASSERT_EQ(bound.status, 0) << bound.output;
  EXPECT_EQ(json_in(bound.output)["runtime"], nlohmann::json::parse(crypto::to_string(runtime)));
  EXPECT_NE(bound.output.find("2029-12-31T23:00:00Z"), std::string::npos) << bound.output;

  // A policy: refused with the code and the rule (and exit 1); the same policy allowing sim passes.
  write_file(fixture.dir / "strict.json", R"({"tee_types":["sgx"]})");
  auto strict = cli({"--format", "sim", "--evidence", (fixture.dir / "evidence.bin").string(), "--trust-sim-key", trust,
                     "--policy", (fixture.dir / "strict.json").string()});
  EXPECT_EQ(strict.status, 1) << strict.output;
  EXPECT_EQ(json_in(strict.output)["refused"]["code"], "policy_simulated_not_allowed");
  EXPECT_EQ(json_in(strict.output)["refused"]["rule"], "allow_simulated");
  write_file(fixture.dir / "map.json", R"({"sgx":{},"sim":{"allow_simulated":true}})");
  EXPECT_EQ(cli({"--format", "sim", "--evidence", (fixture.dir / "evidence.bin").string(), "--trust-sim-key", trust,
                 "--policy", (fixture.dir / "map.json").string()})
                .status,
            0);

  // Tampered evidence, an untrusted platform, wrong runtime data: refused, each with its code.
  auto tampered = evidence;
  tampered[40] ^= 1;
  write_file(fixture.dir / "tampered.bin", crypto::to_string(tampered));
  auto bad_signature = cli({"--format", "sim", "--evidence", (fixture.dir / "tampered.bin").string(), "--trust-sim-key", trust});
  EXPECT_EQ(bad_signature.status, 1);
  EXPECT_EQ(json_in(bad_signature.output)["refused"]["code"], "evidence_signature_invalid");
  auto untrusted = cli({"--format", "sim", "--evidence", (fixture.dir / "evidence.bin").string()});
  EXPECT_EQ(untrusted.status, 1);
  EXPECT_EQ(json_in(untrusted.output)["refused"]["code"], "evidence_untrusted_platform");
  write_file(fixture.dir / "other-runtime.json", crypto::to_string(crypto::base64url_decode(
                                                     fixture.submission()["runtime_data"].get<std::string>()).value()));
  auto mismatch = cli({"--format", "sim", "--evidence", (fixture.dir / "evidence.bin").string(), "--trust-sim-key", trust,
                       "--runtime-data", (fixture.dir / "other-runtime.json").string()});
  EXPECT_EQ(mismatch.status, 1);
  EXPECT_EQ(json_in(mismatch.output)["refused"]["code"], "report_data_mismatch");

  // Usage errors exit 2.
  EXPECT_EQ(cli({"--format", "tpm", "--evidence", (fixture.dir / "evidence.bin").string()}).status, 2);
  EXPECT_EQ(cli({"--format", "sim", "--evidence", (fixture.dir / "missing.bin").string()}).status, 2);
  EXPECT_EQ(cli({"--format", "sim", "--evidence", (fixture.dir / "evidence.bin").string(), "--at", "yesterday"}).status, 2);
}

// A real vector case: skipped (with the reason) while the registry does not know its format.
struct VectorCase {
  std::string format;
  std::string evidence;
  std::vector<std::string> collateral;
  std::string at;
};

bool format_known(const std::string& format) {
  auto verifiers = attestation::make_evidence_verifiers({});
  return attestation::find(verifiers, format).has_value();
}

CommandResult run_case(const VectorCase& vector, std::vector<std::string> extra = {}) {
  std::vector<std::string> arguments = {"--format", vector.format, "--evidence", (kVectors / vector.evidence).string(),
                                        "--at", vector.at};
  for (const auto& path : vector.collateral) arguments.insert(arguments.end(), {"--collateral", (kVectors / path).string()});
  arguments.insert(arguments.end(), extra.begin(), extra.end());
  return cli(arguments);
}

#define SKIP_UNLESS_AVAILABLE(format)                                                                        \
  if (!fs::exists(kVectors / "MANIFEST.md")) GTEST_SKIP() << "no test vectors at " << kVectors;           \
  if (!format_known(format)) GTEST_SKIP() << "the format registry has no \"" << format << "\" verifier yet"

TEST(AttestCli, VerifiesTheSgxVectorS1AndRefusesItOnTcbStatusAndStaleness) {
  SKIP_UNLESS_AVAILABLE("sgx");
  const VectorCase s1{"sgx", "phala-dcap-qvl/sgx_quote", {"phala-dcap-qvl/sgx_quote_collateral.json"}, "2025-07-01T00:00:00Z"};
  auto verified = run_case(s1);
  ASSERT_EQ(verified.status, 0) << verified.output;
  auto claims = json_in(verified.output);
  EXPECT_EQ(claims["tee"], "sgx");
  EXPECT_EQ(claims["tcb_status"], "ConfigurationAndSWHardeningNeeded");
  EXPECT_EQ(claims["advisory_ids"], (nlohmann::json{"INTEL-SA-00289", "INTEL-SA-00615"}));
  EXPECT_EQ(claims["debuggable"], false);
  EXPECT_EQ(claims["signer"], "815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6");

  // The default policy accepts only UpToDate.
  Fixture fixture;
  write_file(fixture.dir / "default.json", "{}");
  auto refused = run_case(s1, {"--policy", (fixture.dir / "default.json").string()});
  EXPECT_EQ(refused.status, 1) << refused.output;
  EXPECT_EQ(json_in(refused.output)["refused"]["code"], "policy_tcb_status_not_allowed");
  EXPECT_EQ(json_in(refused.output)["refused"]["rule"], "tcb_statuses");

  // The same hex-encoded.
  write_file(fixture.dir / "quote.hex", crypto::hex_encode(crypto::as_bytes(read_file(kVectors / s1.evidence))));
  auto hex = s1;
  hex.evidence = (fixture.dir / "quote.hex").string();
  auto from_hex = run_case(hex);
  EXPECT_EQ(from_hex.status, 0) << from_hex.output;

  // After the collateral's window: stale collateral, its own code.
  auto late = s1;
  late.at = "2026-06-01T00:00:00Z";
  auto stale = run_case(late);
  EXPECT_EQ(stale.status, 1);
  EXPECT_EQ(json_in(stale.output)["refused"]["code"], "collateral_stale") << stale.output;
  EXPECT_EQ(json_in(stale.output)["refused"]["rule"], "collateral");
}

TEST(AttestCli, VerifiesTheTdxVectorT1) {
  SKIP_UNLESS_AVAILABLE("tdx");
  auto verified = run_case({"tdx", "phala-dcap-qvl/tdx_quote", {"phala-dcap-qvl/tdx_quote_collateral.json"},
                            "2025-07-01T00:00:00Z"});
  ASSERT_EQ(verified.status, 0) << verified.output;
  EXPECT_EQ(json_in(verified.output)["tee"], "tdx");
  EXPECT_EQ(json_in(verified.output)["tcb_status"], "UpToDate");
  EXPECT_EQ(json_in(verified.output)["debuggable"], false);
}

TEST(AttestCli, VerifiesTheSnpVectorsN1FromHexAndN2WithItsDebugBit) {
  SKIP_UNLESS_AVAILABLE("snp");
  auto n1 = run_case({"snp", "virtee-sev/report_milan.hex", {"virtee-sev/vcek_milan.der", "virtee-sev/cert_chain_milan"},
                      "2025-07-01T00:00:00Z"});
  ASSERT_EQ(n1.status, 0) << n1.output;
  EXPECT_EQ(json_in(n1.output)["tee"], "snp");
  EXPECT_EQ(json_in(n1.output)["debuggable"], false);

  const VectorCase n2{"snp", "google-go-sev-guest/attestation.bin",
                      {"google-go-sev-guest/vcek.testcer", "google-go-sev-guest/ask_ark_milan.pem"}, "2025-07-01T00:00:00Z"};
  auto reported = run_case(n2);
  ASSERT_EQ(reported.status, 0) << reported.output;  // no --policy: reported, not refused
  EXPECT_EQ(json_in(reported.output)["debuggable"], true);
  EXPECT_NE(reported.output.find("debuggable: yes"), std::string::npos);
  Fixture fixture;
  write_file(fixture.dir / "default.json", "{}");
  auto refused = run_case(n2, {"--policy", (fixture.dir / "default.json").string()});
  EXPECT_EQ(refused.status, 1);
  EXPECT_EQ(json_in(refused.output)["refused"]["code"], "policy_debug_not_allowed");
  EXPECT_EQ(json_in(refused.output)["refused"]["rule"], "allow_debug");
}

}  // namespace
}  // namespace cloister::testing

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "cloister/attestation/format_registry.h"
#include "cloister/attestation/runtime_data.h"
#include "cloister/attestation/signing_keys.h"
#include "cloister/attestation/token_issuer.h"
#include "cloister/attestation/token_verifier.h"
#include "cloister/crypto/base64.h"
#include "cloister/crypto/hash.h"
#include "cloister/crypto/jwk.h"
#include "cloister/crypto/jws.h"
#include "cloister/crypto/random.h"
#include "test_support.h"

namespace cloister::attestation {
namespace {

using namespace std::chrono_literals;

constexpr std::int64_t kStart = 1'700'000'000;
const std::string kIssuer = "https://attest.example";

// Counts fetches; can be switched to failing.
class CountingJwksSource final : public JwksSource {
 public:
  explicit CountingJwksSource(std::function<nlohmann::json()> jwks) : jwks_(std::move(jwks)) {}
  Result<nlohmann::json> fetch() override {
    ++fetches;
    if (failing) return fail(ErrorCode::jwks_unavailable, "source down");
    return jwks_();
  }
  std::atomic<int> fetches{0};
  std::atomic<bool> failing{false};

 private:
  std::function<nlohmann::json()> jwks_;
};

std::string b64(std::string_view text) { return crypto::base64url_encode(crypto::as_bytes(text)); }

// The three parts of a compact JWS.
std::vector<std::string> parts_of(const std::string& token) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t dot; (dot = token.find('.', start)) != std::string::npos; start = dot + 1) {
    parts.push_back(token.substr(start, dot - start));
  }
  parts.push_back(token.substr(start));
  return parts;
}

nlohmann::json decode_part(const std::string& part) {
  auto bytes = crypto::base64url_decode(part);
  return nlohmann::json::parse(crypto::to_string(bytes.value()));
}

class TokenTest : public ::testing::Test {
 protected:
  ManualClock clock_{Clock::time_point(std::chrono::seconds(kStart))};
  test::TempDir key_directory_;
  SigningKeys keys_ = SigningKeys::open(key_directory_.path() / "keys", clock_).value();
  TokenIssuer issuer_{keys_, kIssuer, 300s, clock_};
  test::SimPlatform platform_{sim::SimAttesterOptions{.product_id = 2, .svn = 4}};
  std::vector<std::unique_ptr<EvidenceVerifier>> verifiers_ =
      make_evidence_verifiers(FormatConfig{.sim_platform_keys = {platform_.public_key}});
  test::ServiceKeys service_ = test::ServiceKeys::generate("nonce-7");
  Policy appraisal_ = [] {
    Policy policy;
    policy.allow_simulated = true;
    return policy;
  }();

  VerifiedEvidence verified_evidence() {
    auto evidence = platform_.attester->evidence(report_data_for(service_.runtime_data));
    EXPECT_TRUE(evidence);
    auto verifier = find(verifiers_, "sim");
    EXPECT_TRUE(verifier);
    auto verified = (*verifier)->verify(Evidence{"sim", *evidence, service_.runtime_data, "nonce-7"}, Collateral{},
                                        VerificationContext{clock_});
    EXPECT_TRUE(verified) << verified.error().to_string();
    return *verified;
  }

  std::string token() {
    auto token = issuer_.issue(verified_evidence(), service_.runtime_data, "nonce-7", appraisal_.hash());
    EXPECT_TRUE(token) << token.error().to_string();
    return token.value_or("");
  }

  TokenVerifierOptions options(bool allow_simulated = true) const {
    TokenVerifierOptions options{.issuer = kIssuer};
    options.policy.allow_simulated = allow_simulated;
    return options;
  }

  TokenVerifier verifier(TokenVerifierOptions options, const Clock& clock) {
    return TokenVerifier(std::make_shared<StaticJwksSource>(keys_.jwks()), std::move(options), clock);
  }
};

TEST_F(TokenTest, RoundTripCarriesEveryClaimWithTheRightType) {
  const std::string compact = token();
  const auto parts = parts_of(compact);
  ASSERT_EQ(parts.size(), 3u);
  const auto header = decode_part(parts[0]);
  EXPECT_EQ(header, (nlohmann::json{{"alg", "ES256"},
                                    {"typ", "JWT"},
                                    {"kid", keys_.current_kid()},
                                    {"jku", "https://attest.example/.well-known/jwks.json"}}));

  auto verifier = this->verifier(options(), clock_);
  auto verified = verifier.verify(compact);
  ASSERT_TRUE(verified) << verified.error().to_string();
  const auto& claims = verified->claims;
  EXPECT_EQ(claims, decode_part(parts[1]));

  EXPECT_EQ(claims.at("iss"), kIssuer);
  EXPECT_EQ(claims.at("iat"), kStart);
  EXPECT_EQ(claims.at("nbf"), kStart);
  EXPECT_EQ(claims.at("exp"), kStart + 300);
  ASSERT_TRUE(claims.at("jti").is_string());
  EXPECT_EQ(claims.at("jti").get<std::string>().size(), 32u);
  EXPECT_EQ(claims.at("nonce"), "nonce-7");
  EXPECT_EQ(claims.at("tee"), "sim");
  EXPECT_EQ(claims.at("format"), "sim");
  EXPECT_EQ(claims.at("x-cloister-simulated"), true);
  EXPECT_EQ(claims.at("measurement"), crypto::hex_encode(platform_.attester->measurement()));
  EXPECT_FALSE(claims.contains("signer"));
  EXPECT_EQ(claims.at("product_id"), 2);
  EXPECT_EQ(claims.at("svn"), 4);
  EXPECT_EQ(claims.at("debuggable"), false);
  EXPECT_EQ(claims.at("tcb_status"), "Simulated");
  EXPECT_EQ(claims.at("advisory_ids"), nlohmann::json::array());
  EXPECT_EQ(claims.at("runtime"), nlohmann::json::parse(crypto::to_string(service_.runtime_data)));
  EXPECT_EQ(claims.at("runtime").dump(), crypto::to_string(service_.runtime_data));
  EXPECT_EQ(claims.at("report_data"), crypto::hex_encode(report_data_for(service_.runtime_data)));
  EXPECT_EQ(claims.at("policy_hash"), appraisal_.hash());
  EXPECT_TRUE(claims.at("x-cloister-format-claims").is_object());
  EXPECT_TRUE(claims.at("x-cloister-format-claims").contains("platform_key_id"));

  EXPECT_EQ(verified->jti, claims.at("jti"));
  EXPECT_EQ(verified->tee, "sim");
  EXPECT_TRUE(verified->simulated);
  EXPECT_EQ(verified->expires_at, kStart + 300);
  EXPECT_EQ(verified->tls_key, service_.tls.public_key());
  EXPECT_EQ(verified->hpke_public_key, service_.hpke.public_key);

  // Every token gets its own jti.
  auto second = verifier.verify(token());
  ASSERT_TRUE(second);
  EXPECT_NE(second->jti, verified->jti);
}

TEST_F(TokenTest, ConfigurableJku) {
  TokenIssuer custom(keys_, kIssuer, 60s, clock_, "https://keys.example/jwks");
  auto compact = custom.issue(verified_evidence(), service_.runtime_data, std::nullopt, appraisal_.hash());
  ASSERT_TRUE(compact);
  EXPECT_EQ(decode_part(parts_of(*compact)[0]).at("jku"), "https://keys.example/jwks");
  auto claims = decode_part(parts_of(*compact)[1]);
  EXPECT_FALSE(claims.contains("nonce"));
  EXPECT_EQ(claims.at("exp"), kStart + 60);
}

TEST_F(TokenTest, IssuerRechecksTheRuntimeDataBinding) {
  auto other = test::ServiceKeys::generate();
  EXPECT_EQ(issuer_.issue(verified_evidence(), other.runtime_data, std::nullopt, "h").error().code,
            ErrorCode::report_data_mismatch);
}

TEST_F(TokenTest, ExpiryAndNotBeforeHonourTheSkew) {
  const std::string compact = token();
  ManualClock later(Clock::time_point(std::chrono::seconds(kStart + 300 + 29)));
  EXPECT_TRUE(verifier(options(), later).verify(compact));
  later.advance(1s);
  EXPECT_EQ(verifier(options(), later).verify(compact).error().code, ErrorCode::token_expired);

  ManualClock earlier(Clock::time_point(std::chrono::seconds(kStart - 30)));
  EXPECT_TRUE(verifier(options(), earlier).verify(compact));
  earlier.advance(-1s);
  EXPECT_EQ(verifier(options(), earlier).verify(compact).error().code, ErrorCode::token_not_yet_valid);
}

TEST_F(TokenTest, WrongIssuerIsRefused) {
  auto options = this->options();
  options.issuer = "https://other.example";
  EXPECT_EQ(verifier(options, clock_).verify(token()).error().code, ErrorCode::token_wrong_issuer);
  options.issuer.clear();
  EXPECT_THROW(verifier(options, clock_), std::invalid_argument);
}

TEST_F(TokenTest, AudienceIsCheckedWhenConfigured) {
  auto options = this->options();
  options.audience = "https://provider.example";
  EXPECT_EQ(verifier(options, clock_).verify(token()).error().code, ErrorCode::token_wrong_audience);
}

TEST_F(TokenTest, KeyFromAnotherSigningKeysIsUnknown) {
  test::TempDir other_directory;
  auto other_keys = SigningKeys::open(other_directory.path(), clock_);
  ASSERT_TRUE(other_keys);
  TokenIssuer other_issuer(*other_keys, kIssuer, 300s, clock_);
  auto forged = other_issuer.issue(verified_evidence(), service_.runtime_data, std::nullopt, "h");
  ASSERT_TRUE(forged);
  EXPECT_EQ(verifier(options(), clock_).verify(*forged).error().code, ErrorCode::jose_unknown_kid);
}

TEST_F(TokenTest, TamperedTokensAreRefused) {
  const std::string compact = token();
  auto parts = parts_of(compact);
  auto verifier = this->verifier(options(), clock_);

  // A claim changed, the signature kept.
  auto claims = decode_part(parts[1]);
  claims["debuggable"] = true;
  EXPECT_EQ(verifier.verify(parts[0] + "." + b64(claims.dump()) + "." + parts[2]).error().code,
            ErrorCode::jose_signature_invalid);
  // The runtime keys swapped for an attacker's.
  claims = decode_part(parts[1]);
  claims["runtime"] = nlohmann::json::parse(crypto::to_string(test::ServiceKeys::generate().runtime_data));
  EXPECT_EQ(verifier.verify(parts[0] + "." + b64(claims.dump()) + "." + parts[2]).error().code,
            ErrorCode::jose_signature_invalid);
  // One signature bit flipped.
  auto signature = crypto::base64url_decode(parts[2]).value();
  signature[10] ^= 0x01;
  EXPECT_EQ(verifier.verify(parts[0] + "." + parts[1] + "." + crypto::base64url_encode(signature)).error().code,
            ErrorCode::jose_signature_invalid);
  // Truncated and garbage.
  EXPECT_FALSE(verifier.verify(compact.substr(0, compact.size() - 5)));
  EXPECT_EQ(verifier.verify("").error().code, ErrorCode::jose_malformed);
  EXPECT_EQ(verifier.verify("a.b").error().code, ErrorCode::jose_malformed);
  EXPECT_TRUE(verifier.verify(compact));
}

TEST_F(TokenTest, OnlyEs256IsAccepted) {
  const std::string compact = token();
  const auto parts = parts_of(compact);
  auto verifier = this->verifier(options(), clock_);
  const std::string kid = keys_.current_kid();

  // alg none.
  const std::string none_header = b64(nlohmann::json{{"alg", "none"}, {"kid", kid}}.dump());
  EXPECT_EQ(verifier.verify(none_header + "." + parts[1] + ".").error().code, ErrorCode::jose_alg_none);
  // HS256 with the published public key as the HMAC secret (algorithm confusion).
  const std::string hs_header = b64(nlohmann::json{{"alg", "HS256"}, {"kid", kid}, {"typ", "JWT"}}.dump());
  const std::string signing_input = hs_header + "." + parts[1];
  const auto& published = keys_.current()->public_key;
  for (const auto& secret : {crypto::to_bytes(published.pem()), published.spki_der()}) {
    auto mac = crypto::hmac(crypto::HashAlgorithm::sha256, secret, crypto::as_bytes(signing_input));
    EXPECT_EQ(verifier.verify(signing_input + "." + crypto::base64url_encode(mac)).error().code,
              ErrorCode::jose_alg_not_allowed);
  }
  // ES384, correctly signed with a P-384 key under a known kid.
  auto p384 = crypto::PrivateKey::generate(crypto::KeyType::ec_p384);
  auto es384 = crypto::jws_sign(p384, crypto::JwsAlgorithm::es384, {{"kid", kid}, {"typ", "JWT"}},
                                crypto::base64url_decode(parts[1]).value());
  ASSERT_TRUE(es384);
  EXPECT_EQ(verifier.verify(*es384).error().code, ErrorCode::jose_alg_not_allowed);
}

TEST_F(TokenTest, SimIsRefusedByDefaultPolicyAndAllowedWhenSaidSo) {
  const std::string compact = token();
  TokenVerifierOptions strict{.issuer = kIssuer};  // default policy
  EXPECT_EQ(verifier(strict, clock_).verify(compact).error().code, ErrorCode::policy_simulated_not_allowed);
  EXPECT_TRUE(verifier(options(true), clock_).verify(compact));
}

TEST_F(TokenTest, RelyingPartyPolicyGivesPreciseCodes) {
  const std::string compact = token();
  auto options = this->options();
  options.policy.measurements = {std::string(96, '0')};
  EXPECT_EQ(verifier(options, clock_).verify(compact).error().code, ErrorCode::policy_measurement_not_allowed);
  options.policy.measurements = {crypto::hex_encode(platform_.attester->measurement())};
  EXPECT_TRUE(verifier(options, clock_).verify(compact));
  options.policy.min_svn = 5;
  EXPECT_EQ(verifier(options, clock_).verify(compact).error().code, ErrorCode::policy_svn_too_low);
}

TEST_F(TokenTest, UnknownKidRefreshIsBounded) {
  auto source = std::make_shared<CountingJwksSource>([this] { return keys_.jwks(); });
  TokenVerifierOptions options = this->options();
  options.min_refresh_interval = 30s;
  TokenVerifier verifier(source, options, clock_);
  ASSERT_TRUE(verifier.verify(token()));
  EXPECT_EQ(source->fetches, 1);

  // 100 tokens, each signed by a fresh key under a kid nobody published.
  auto attacker = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  const std::string payload = decode_part(parts_of(token())[1]).dump();
  for (int i = 0; i < 100; ++i) {
    auto forged = crypto::jws_sign(attacker, crypto::JwsAlgorithm::es256,
                                   {{"kid", crypto::random_hex(8)}, {"typ", "JWT"}}, crypto::as_bytes(payload));
    ASSERT_TRUE(forged);
    auto result = verifier.verify(*forged);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, ErrorCode::jose_unknown_kid);
    clock_.advance(100ms);  // 10 s in all: inside one refresh interval
  }
  EXPECT_LE(source->fetches, 2);
  EXPECT_EQ(verifier.jwks_fetches(), static_cast<std::uint64_t>(source->fetches.load()));

  // Known kids keep verifying without fetches.
  const int before = source->fetches;
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(verifier.verify(token()));
  EXPECT_EQ(source->fetches, before);
}

TEST_F(TokenTest, RotationIsPickedUpAfterTheRefreshInterval) {
  auto source = std::make_shared<CountingJwksSource>([this] { return keys_.jwks(); });
  TokenVerifier verifier(source, options(), clock_);
  const std::string old_token = token();
  ASSERT_TRUE(verifier.verify(old_token));

  ASSERT_TRUE(keys_.rotate());
  const std::string new_token = token();
  clock_.advance(10s);
  EXPECT_EQ(verifier.verify(new_token).error().code, ErrorCode::jose_unknown_kid);  // within the interval
  clock_.advance(21s);
  auto verified = verifier.verify(new_token);
  ASSERT_TRUE(verified) << verified.error().to_string();
  EXPECT_TRUE(verifier.verify(old_token));  // the retired key is still published
  EXPECT_EQ(source->fetches, 2);
}

TEST_F(TokenTest, UnavailableJwksFailsClosed) {
  auto source = std::make_shared<CountingJwksSource>([this] { return keys_.jwks(); });
  source->failing = true;
  TokenVerifier verifier(source, options(), clock_);
  const std::string compact = token();
  EXPECT_EQ(verifier.verify(compact).error().code, ErrorCode::jwks_unavailable);
  EXPECT_EQ(verifier.verify(compact).error().code, ErrorCode::jwks_unavailable);
  EXPECT_EQ(source->fetches, 1);
  source->failing = false;
  clock_.advance(30s);
  EXPECT_TRUE(verifier.verify(compact));

  auto bad = std::make_shared<CountingJwksSource>([] { return nlohmann::json{{"keys", "none"}}; });
  TokenVerifier bad_verifier(bad, options(), clock_);
  EXPECT_EQ(bad_verifier.verify(compact).error().code, ErrorCode::jwks_unavailable);
}

TEST_F(TokenTest, HostileJwksEntriesAreSkippedWithoutThrowing) {
  const std::string compact = token();
  const std::string kid = keys_.current_kid();
  auto good = keys_.jwks().at("keys")[0];
  auto other = crypto::public_key_to_jwk(crypto::PrivateKey::generate(crypto::KeyType::ec_p256).public_key()).value();
  other["kid"] = kid;
  // Odd member types, private members, other algorithms: skipped; the good key still works.
  nlohmann::json odd = good;
  odd["kty"] = 5;
  odd["kid"] = "odd";
  nlohmann::json with_private = good;
  with_private["d"] = "AAAA";
  with_private["kid"] = "private";
  nlohmann::json jwks = {{"keys", {1, "x", nlohmann::json::object(), odd, with_private, good}}};
  TokenVerifier tolerant(std::make_shared<StaticJwksSource>(jwks), options(), clock_);
  EXPECT_TRUE(tolerant.verify(compact));
  // The same kid published for two different keys names neither.
  nlohmann::json ambiguous = {{"keys", {good, other}}};
  TokenVerifier strict(std::make_shared<StaticJwksSource>(ambiguous), options(), clock_);
  EXPECT_EQ(strict.verify(compact).error().code, ErrorCode::jose_unknown_kid);
  // A key published with another alg is not used for ES256.
  nlohmann::json wrong_alg = good;
  wrong_alg["alg"] = "ES384";
  TokenVerifier no_alg(std::make_shared<StaticJwksSource>(nlohmann::json{{"keys", {wrong_alg}}}), options(), clock_);
  EXPECT_EQ(no_alg.verify(compact).error().code, ErrorCode::jose_unknown_kid);
}

TEST_F(TokenTest, ConcurrentVerificationIsSafe) {
  auto source = std::make_shared<CountingJwksSource>([this] { return keys_.jwks(); });
  TokenVerifier verifier(source, options(), clock_);
  const std::string compact = token();
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) ok += verifier.verify(compact).has_value() ? 1 : 0;
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ok, 200);
  EXPECT_EQ(source->fetches, 1);
}

TEST_F(TokenTest, ChannelBinding) {
  auto verified = verifier(options(), clock_).verify(token());
  ASSERT_TRUE(verified);
  EXPECT_TRUE(check_channel_binding(*verified, service_.tls.public_key().spki_der()));
  auto other = crypto::PrivateKey::generate(crypto::KeyType::ec_p256).public_key().spki_der();
  EXPECT_EQ(check_channel_binding(*verified, other).error().code, ErrorCode::channel_binding_mismatch);
  EXPECT_EQ(check_channel_binding(*verified, {}).error().code, ErrorCode::channel_binding_mismatch);
}

TEST_F(TokenTest, JwksPublishesOnlyPublicEs256Keys) {
  StaticJwksSource source(keys_.jwks());
  auto jwks = source.fetch();
  ASSERT_TRUE(jwks);
  for (const auto& key : jwks->at("keys")) {
    EXPECT_FALSE(key.contains("d"));
    EXPECT_EQ(key.at("alg"), "ES256");
  }
}

}  // namespace
}  // namespace cloister::attestation

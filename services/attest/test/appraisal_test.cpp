#include "appraisal.h"

#include "cloister/attestation/format_registry.h"
#include "cloister/crypto/base64.h"
#include "cloister/crypto/hash.h"
#include "service_test_support.h"

#include <gtest/gtest.h>

namespace cloister::attest {
namespace {

TEST(DecodeEvidenceFile, BinaryHexAndJson) {
  const crypto::Bytes quote = {0x03, 0x00, 0x02, 0x00, 0xff, 0x10, 0x0a, 0x20};
  const std::string binary(quote.begin(), quote.end());
  EXPECT_EQ(decode_evidence_file(binary).value(), quote);
  EXPECT_EQ(decode_evidence_file("030002 00ff100a20\n").value(), quote);
  EXPECT_EQ(decode_evidence_file("0x03000200FF100A20\r\n").value(), quote);
  EXPECT_EQ(decode_evidence_file(R"({"quote":"03000200ff100a20"})").value(), quote);
  EXPECT_EQ(decode_evidence_file(R"({"evidence":")" + crypto::base64_encode(quote) + R"("})").value(), quote);
  EXPECT_EQ(decode_evidence_file(R"({"report":")" + crypto::base64url_encode(quote) + R"("})").value(), quote);
  EXPECT_EQ(decode_evidence_file(R"({"other":"00"})").error().code, ErrorCode::bad_encoding);
  EXPECT_EQ(decode_evidence_file(R"({"quote":"not hex or base64!"})").error().code, ErrorCode::bad_encoding);
  // Odd-length "hex" is not hex text: the bytes are taken as they are.
  EXPECT_EQ(decode_evidence_file("abc").value(), crypto::to_bytes("abc"));
}

TEST(PolicyForFormat, BarePolicyVersionDocumentAndPerFormatMap) {
  const nlohmann::json bare = {{"allow_simulated", true}};
  EXPECT_TRUE(policy_for_format(bare, "sim").value().allow_simulated);
  const nlohmann::json version = {{"format", "sim"}, {"version", 3}, {"policy", {{"min_svn", 4}}}};
  EXPECT_EQ(policy_for_format(version, "sim").value().min_svn, 4u);
  EXPECT_EQ(policy_for_format(version, "sgx").error().code, ErrorCode::policy_invalid);
  const nlohmann::json map = {{"sgx", {{"min_svn", 2}}}, {"sim", {{"allow_simulated", true}, {"min_svn", 1}}}};
  EXPECT_EQ(policy_for_format(map, "sim").value().min_svn, 1u);
  EXPECT_EQ(policy_for_format(map, "sgx").value().min_svn, 2u);
  EXPECT_EQ(policy_for_format(map, "snp").error().code, ErrorCode::policy_invalid);
  EXPECT_EQ(policy_for_format(nlohmann::json::array(), "sim").error().code, ErrorCode::policy_invalid);
  EXPECT_EQ(policy_for_format({{"min_svn", "x"}}, "sim").error().code, ErrorCode::policy_invalid);
}

TEST(RuleForError, EveryAppraisalErrorHasACategory) {
  EXPECT_EQ(rule_for_error(ErrorCode::evidence_signature_invalid), "evidence");
  EXPECT_EQ(rule_for_error(ErrorCode::collateral_stale), "collateral");
  EXPECT_EQ(rule_for_error(ErrorCode::cert_revoked), "collateral");
  EXPECT_EQ(rule_for_error(ErrorCode::report_data_mismatch), "runtime_data");
  EXPECT_EQ(rule_for_error(ErrorCode::nonce_invalid), "nonce");
  EXPECT_EQ(rule_for_error(ErrorCode::unsupported_format), "format");
  EXPECT_EQ(rule_for_error(ErrorCode::policy_debug_not_allowed), "allow_debug");
  EXPECT_EQ(rule_for_error(ErrorCode::policy_tcb_status_not_allowed), "tcb_statuses");
  EXPECT_EQ(rule_for_error(ErrorCode::invalid_json), "request");
  EXPECT_EQ(rule_for_error(ErrorCode::evidence_malformed), "evidence");
  EXPECT_EQ(rule_for_error(ErrorCode::collateral_missing), "collateral");
  // Every code has a category; the appraisal codes never fall back to "request".
  for (const auto& info : all_error_codes()) {
    const auto rule = rule_for_error(info.code);
    EXPECT_FALSE(rule.empty()) << info.name;
    if (info.name.starts_with("evidence_") || info.name.starts_with("collateral_") || info.name.starts_with("policy_")) {
      EXPECT_NE(rule, "request") << info.name;
    }
  }
}

TEST(VerifyUnbound, ChecksTheFormatButNotTheRuntimeDataBinding) {
  test::SimPlatform platform;
  attestation::FormatConfig config;
  config.sim_platform_keys.push_back(platform.public_key);
  auto verifiers = attestation::make_evidence_verifiers(config);
  const auto* verifier = attestation::find(verifiers, "sim").value();
  ManualClock clock = ManualClock::at_unix(1'700'000'000);
  attestation::VerificationContext context{clock};

  // Report data that binds no runtime data at all (as in a published vector).
  crypto::Bytes report_data(64, 0x42);
  auto evidence_bytes = platform.attester->evidence(report_data).value();
  attestation::Evidence evidence{"sim", evidence_bytes, {}, std::nullopt};
  EXPECT_EQ(verifier->verify(evidence, {}, context).error().code, ErrorCode::report_data_mismatch);
  auto unbound = verify_unbound(*verifier, evidence, {}, context);
  ASSERT_TRUE(unbound) << unbound.error().to_string();
  EXPECT_EQ(unbound->format, "sim");
  EXPECT_EQ(unbound->claims.report_data, report_data);

  // The format's own checks still apply.
  auto tampered = evidence;
  tampered.evidence[20] ^= 1;
  EXPECT_EQ(verify_unbound(*verifier, tampered, {}, context).error().code, ErrorCode::evidence_signature_invalid);
  auto wrong_format = evidence;
  wrong_format.format = "sgx";
  EXPECT_EQ(verify_unbound(*verifier, wrong_format, {}, context).error().code, ErrorCode::unsupported_format);

  // The claims a policy sees: runtime and nonce only when given.
  auto claims = appraisal_claims(*unbound, nullptr, std::nullopt);
  EXPECT_FALSE(claims.contains("runtime"));
  EXPECT_EQ(claims["tee"], "sim");
  nlohmann::json runtime = {{"nonce", "n"}};
  claims = appraisal_claims(*unbound, &runtime, std::string("n"));
  EXPECT_EQ(claims["runtime"], runtime);
  EXPECT_EQ(claims["nonce"], "n");
}

}  // namespace
}  // namespace cloister::attest

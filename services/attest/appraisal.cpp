#include "appraisal.h"

#include "cloister/crypto/base64.h"
#include "cloister/crypto/hash.h"

#include <algorithm>
#include <array>

namespace cloister::attest {
namespace {

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == '\v'; }

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

bool is_hex_digit(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// Hex text with optional 0x and whitespace anywhere; nullopt when it is not that.
std::optional<crypto::Bytes> hex_text(std::string_view text) {
  text = trim(text);
  if (text.starts_with("0x") || text.starts_with("0X")) text.remove_prefix(2);
  std::string digits;
  digits.reserve(text.size());
  for (char c : text) {
    if (is_space(c)) continue;
    if (!is_hex_digit(c)) return std::nullopt;
    digits.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  if (digits.empty() || digits.size() % 2 != 0) return std::nullopt;
  auto bytes = crypto::hex_decode(digits);
  if (!bytes) return std::nullopt;
  return std::move(*bytes);
}

// A JSON string member holding evidence: hex, then base64, then base64url.
std::optional<crypto::Bytes> encoded_member(const std::string& value) {
  if (auto bytes = hex_text(value)) return bytes;
  if (auto bytes = crypto::base64_decode(value)) return std::move(*bytes);
  if (auto bytes = crypto::base64url_decode(value)) return std::move(*bytes);
  return std::nullopt;
}

}  // namespace

std::string_view rule_for_error(ErrorCode code) {
  switch (code) {
    case ErrorCode::unsupported_format:
      return refusal_rule::kFormat;
    case ErrorCode::signature_invalid:
      return refusal_rule::kEvidence;
    case ErrorCode::report_data_mismatch:
    case ErrorCode::runtime_data_invalid:
      return refusal_rule::kRuntimeData;
    case ErrorCode::nonce_invalid:
      return refusal_rule::kNonce;
    case ErrorCode::policy_invalid:
      return refusal_rule::kPolicy;
    case ErrorCode::token_claims_invalid:
      return attestation::policy_rule::kClaims;
    case ErrorCode::policy_simulated_not_allowed:
      return attestation::policy_rule::kAllowSimulated;
    case ErrorCode::policy_tee_not_allowed:
      return attestation::policy_rule::kTeeTypes;
    case ErrorCode::policy_measurement_not_allowed:
      return attestation::policy_rule::kMeasurements;
    case ErrorCode::policy_signer_not_allowed:
      return attestation::policy_rule::kSigners;
    case ErrorCode::policy_product_id_not_allowed:
      return attestation::policy_rule::kProductIds;
    case ErrorCode::policy_svn_too_low:
      return attestation::policy_rule::kMinSvn;
    case ErrorCode::policy_debug_not_allowed:
      return attestation::policy_rule::kAllowDebug;
    case ErrorCode::policy_tcb_status_not_allowed:
      return attestation::policy_rule::kTcbStatuses;
    case ErrorCode::policy_runtime_data_missing:
      return attestation::policy_rule::kRequiredRuntimeData;
    default:
      break;
  }
  // The formats' own codes, by family (so a format that adds a code is categorised without a change
  // here): the evidence against its endorsements is collateral, TCB matching is tcb.
  const std::string_view name = error_name(code);
  if (name == "evidence_collateral_mismatch") return refusal_rule::kCollateral;
  if (name.starts_with("collateral_") || name.starts_with("cert_")) return refusal_rule::kCollateral;
  if (name.starts_with("tcb_")) return refusal_rule::kTcb;
  if (name.starts_with("evidence_") || name.starts_with("qe_") || name.starts_with("tdx_") || name.starts_with("snp_") ||
      name.starts_with("sgx_")) {
    return refusal_rule::kEvidence;
  }
  return refusal_rule::kRequest;
}

Result<attestation::VerifiedEvidence> verify_unbound(const attestation::EvidenceVerifier& verifier,
                                                     const attestation::Evidence& evidence,
                                                     const attestation::Collateral& collateral,
                                                     const attestation::VerificationContext& context) {
  try {
    return verifier.verify_unbound(evidence, collateral, context);
  } catch (const std::exception&) {
    // A format must never throw on input; if one does, it is a refusal, not a crash.
    return fail(ErrorCode::internal, "the verifier failed");
  }
}

nlohmann::json appraisal_claims(const attestation::VerifiedEvidence& evidence, const nlohmann::json* runtime,
                                const std::optional<std::string>& nonce) {
  auto claims = attestation::to_claims_json(evidence);
  if (runtime != nullptr) claims[attestation::claim::kRuntime] = *runtime;
  if (nonce) claims[attestation::claim::kNonce] = *nonce;
  return claims;
}

Result<attestation::Policy> policy_for_format(const nlohmann::json& document, std::string_view format) {
  if (!document.is_object()) return fail(ErrorCode::policy_invalid, "a policy document is a JSON object");
  const std::string key(format);
  if (document.contains(key) && document.at(key).is_object()) return attestation::Policy::from_json(document.at(key));
  if (document.contains("policy") && document.at("policy").is_object()) {
    if (document.contains("format") && document.at("format") != key) {
      return fail(ErrorCode::policy_invalid, "the policy document is for another format");
    }
    return attestation::Policy::from_json(document.at("policy"));
  }
  // A map of other formats' policies says nothing about this one: refuse rather than guess.
  const bool looks_like_map = !document.empty() && std::all_of(document.begin(), document.end(),
                                                               [](const nlohmann::json& value) { return value.is_object(); });
  if (looks_like_map) return fail(ErrorCode::policy_invalid, "the policy document has no policy for format " + key);
  return attestation::Policy::from_json(document);
}

nlohmann::json rule_outcomes_json(const std::vector<attestation::RuleOutcome>& outcomes) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& outcome : outcomes) {
    nlohmann::json item = {{"rule", outcome.rule}, {"result", outcome.passed() ? "pass" : "fail"}};
    if (outcome.failure) {
      item["code"] = std::string(outcome.failure->name());
      if (!outcome.failure->detail.empty()) item["detail"] = outcome.failure->detail;
    }
    out.push_back(std::move(item));
  }
  return out;
}

Result<crypto::Bytes> decode_evidence_file(std::string_view content) {
  const auto text = trim(content);
  if (text.starts_with('{')) {
    auto document = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (document.is_object()) {
      for (const char* name : {"quote", "evidence", "report", "attestation_report"}) {
        if (!document.contains(name) || !document.at(name).is_string()) continue;
        if (auto bytes = encoded_member(document.at(name).get<std::string>())) return std::move(*bytes);
        return fail(ErrorCode::bad_encoding, std::string("the \"") + name + "\" member is neither hex nor base64");
      }
      return fail(ErrorCode::bad_encoding, "a JSON evidence file needs a quote, evidence or report member");
    }
  }
  if (auto bytes = hex_text(content)) return std::move(*bytes);
  return crypto::Bytes(content.begin(), content.end());
}

}  // namespace cloister::attest

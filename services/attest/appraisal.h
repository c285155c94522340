#pragma once
// What the attestation service and the offline CLI (`cloister attest verify-evidence`) share: the
// claims a policy is judged on, the rule a refusal names, policy documents per format, evidence
// verification without the runtime-data binding (for inspection only) and evidence files as they
// are found in the wild (binary, hex text, JSON).

#include "cloister/attestation/claims.h"
#include "cloister/attestation/evidence.h"
#include "cloister/attestation/evidence_verifier.h"
#include "cloister/attestation/policy.h"
#include "cloister/core/error.h"
#include "cloister/crypto/bytes.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cloister::attest {

// Refusal categories for errors that are not a policy rule (the `rule` member of a refusal).
namespace refusal_rule {
inline constexpr std::string_view kFormat = "format";              // unsupported_format
inline constexpr std::string_view kRequest = "request";            // malformed request
inline constexpr std::string_view kEvidence = "evidence";          // parse, signature, platform
inline constexpr std::string_view kCollateral = "collateral";      // missing, stale, chain, CRL, mismatch
inline constexpr std::string_view kTcb = "tcb";                    // no TCB level matches the platform
inline constexpr std::string_view kRuntimeData = "runtime_data";   // binding, runtime data itself
inline constexpr std::string_view kNonce = "nonce";                // unknown, expired, used
inline constexpr std::string_view kPolicy = "policy";              // the (draft) policy document
}  // namespace refusal_rule

// The category of an error that is not a policy rule; policy rules come from Policy::first_failure.
std::string_view rule_for_error(ErrorCode code);

// The format's own checks (parsing, signatures, chains, collateral) WITHOUT the runtime-data binding
// that EvidenceVerifier::verify adds. For inspecting evidence whose runtime data is not at hand (the
// CLI without --runtime-data, a dry-run without runtime data): a token is never issued from it.
Result<attestation::VerifiedEvidence> verify_unbound(const attestation::EvidenceVerifier& verifier,
                                                     const attestation::Evidence& evidence,
                                                     const attestation::Collateral& collateral,
                                                     const attestation::VerificationContext& context);

// The claims a policy is judged on — those a token would carry: to_claims_json(evidence), plus
// `runtime` (the runtime-data document, when the binding was checked) and `nonce` (when bound).
nlohmann::json appraisal_claims(const attestation::VerifiedEvidence& evidence, const nlohmann::json* runtime,
                                const std::optional<std::string>& nonce);

// The policy for `format` out of a document that is one of: a map of per-format policies
// ({"sgx": {…}, "sim": {…}}), a policy version as the admin API returns it ({"policy": {…}, …}),
// or a bare policy. policy_invalid when it is none of these or names no policy for `format`.
Result<attestation::Policy> policy_for_format(const nlohmann::json& document, std::string_view format);

// [{"rule": "…", "result": "pass"|"fail", "code": "…", "detail": "…"}, …]
nlohmann::json rule_outcomes_json(const std::vector<attestation::RuleOutcome>& outcomes);

// Evidence bytes from a file's content: a JSON document holding it in "quote", "evidence",
// "report" or "attestation_report" (hex or base64), hex text (optionally "0x"-prefixed, any case,
// whitespace allowed), or else the raw bytes. bad_encoding for a JSON document without usable evidence.
Result<crypto::Bytes> decode_evidence_file(std::string_view content);

}  // namespace cloister::attest

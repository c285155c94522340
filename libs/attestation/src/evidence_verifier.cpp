#include "cloister/attestation/evidence_verifier.h"

#include "cloister/attestation/runtime_data.h"
#include "safe_text.h"

namespace cloister::attestation {

Result<VerifiedEvidence> EvidenceVerifier::verify_unbound(const Evidence& evidence, const Collateral& collateral,
                                                          const VerificationContext& context) const {
  if (evidence.format != format_id()) {
    return fail(ErrorCode::unsupported_format, "evidence format \"" + detail::safe_text(evidence.format) +
                                                   "\" given to the " + std::string(format_id()) + " verifier");
  }
  auto verified = verify_format(evidence, collateral, context);
  if (!verified) return verified;
  verified->format = std::string(format_id());
  return verified;
}

Result<VerifiedEvidence> EvidenceVerifier::verify(const Evidence& evidence, const Collateral& collateral,
                                                  const VerificationContext& context) const {
  auto verified = verify_unbound(evidence, collateral, context);
  if (!verified) return verified;
  // The binding every format shares: the report data covers exactly these runtime-data bytes.
  if (auto bound = check_report_data_binding(verified->claims.report_data, evidence.runtime_data); !bound) {
    return std::unexpected(bound.error());
  }
  auto keys = parse_runtime_data(evidence.runtime_data);
  if (!keys) return std::unexpected(keys.error());
  if (evidence.nonce && keys->nonce != evidence.nonce) {
    return fail(ErrorCode::nonce_invalid, "the runtime data does not carry the requested nonce");
  }
  return verified;
}

}  // namespace cloister::attestation

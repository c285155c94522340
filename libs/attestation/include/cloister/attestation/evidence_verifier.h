#pragma once
// EvidenceVerifier: the verifier side of an evidence format (one per formats/<id>/ folder).

#include <string_view>

#include "cloister/attestation/claims.h"
#include "cloister/attestation/evidence.h"
#include "cloister/core/error.h"

namespace cloister::attestation {

class EvidenceVerifier {
 public:
  virtual ~EvidenceVerifier() = default;

  virtual std::string_view format_id() const = 0;

  // Verifies the evidence: first the format's own checks (verify_format), then, here and only here
  // for every format, the binding of the runtime data — the first 32 bytes of the report data must
  // equal SHA-256(runtime data) and the last 32 must be zero (report_data_mismatch), the runtime data
  // must parse (runtime_data_invalid), and a requested nonce must be the one the runtime data carries
  // (nonce_invalid). Never throws on bad input.
  Result<VerifiedEvidence> verify(const Evidence& evidence, const Collateral& collateral,
                                  const VerificationContext& context) const;

  // The format's own checks only (signatures, chains, collateral, TCB), without the runtime-data
  // binding: for appraising evidence that binds no Cloister runtime data — offline verification of
  // real vendor quotes (`cloister attest verify-evidence`) and policy dry-runs. Never issue a token
  // from this result: nothing ties the evidence to a key.
  Result<VerifiedEvidence> verify_unbound(const Evidence& evidence, const Collateral& collateral,
                                          const VerificationContext& context) const;

 protected:
  // The format's checks: parse strictly (evidence_malformed), check signatures and chains
  // (evidence_signature_invalid, evidence_untrusted_platform, cert_*, collateral_*), and return the
  // claims, with claims.report_data the 64 report-data bytes of the evidence.
  virtual Result<VerifiedEvidence> verify_format(const Evidence& evidence, const Collateral& collateral,
                                                 const VerificationContext& context) const = 0;
};

}  // namespace cloister::attestation

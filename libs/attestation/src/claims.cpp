#include "cloister/attestation/claims.h"

#include <array>

#include "cloister/crypto/hash.h"

namespace cloister::attestation {

namespace tcb_status {
bool is_known(std::string_view status) {
  static constexpr std::array kAll{kUpToDate,   kSwHardeningNeeded,           kConfigurationNeeded,
                                   kConfigurationAndSwHardeningNeeded, kOutOfDate,
                                   kOutOfDateConfigurationNeeded,      kRevoked, kSimulated};
  for (auto known : kAll) {
    if (status == known) return true;
  }
  return false;
}
}  // namespace tcb_status

nlohmann::json to_claims_json(const VerifiedEvidence& evidence) {
  const BaseClaims& base = evidence.claims;
  nlohmann::json claims = nlohmann::json::object();
  claims[claim::kFormat] = evidence.format;
  claims[claim::kTee] = base.tee;
  claims[claim::kSimulated] = base.tee == tee::kSim;
  claims[claim::kMeasurement] = base.measurement;
  if (base.signer) claims[claim::kSigner] = *base.signer;
  claims[claim::kProductId] = base.product_id;
  claims[claim::kSvn] = base.svn;
  claims[claim::kDebuggable] = base.debuggable;
  claims[claim::kTcbStatus] = base.tcb_status;
  claims[claim::kAdvisoryIds] = base.advisory_ids;
  claims[claim::kReportData] = crypto::hex_encode(base.report_data);
  claims[claim::kFormatClaims] = evidence.format_claims.is_object() ? evidence.format_claims
                                                                    : nlohmann::json::object();
  return claims;
}

}  // namespace cloister::attestation

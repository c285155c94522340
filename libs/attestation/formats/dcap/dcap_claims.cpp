#include "formats/dcap/dcap_claims.h"

#include "cloister/crypto/hash.h"
#include "formats/dcap/dcap_util.h"

namespace cloister::attestation::dcap {

nlohmann::json common_format_claims(const DcapVerification& verification) {
  const CheckedQuote& checked = verification.checked;
  nlohmann::json claims = nlohmann::json::object();
  claims[format_claim::kQuoteVersion] = checked.quote.header.version;
  claims[format_claim::kFmspc] = crypto::hex_encode(checked.pck.fmspc);
  claims[format_claim::kPceId] = crypto::hex_encode(checked.pck.pce_id);
  claims[format_claim::kPckCa] = std::string(to_string(checked.pck_ca));
  if (checked.pck.sgx_type) claims[format_claim::kSgxType] = *checked.pck.sgx_type;
  claims[format_claim::kPceSvn] = checked.pck.pce_svn;
  claims[format_claim::kCpuSvn] = crypto::hex_encode(checked.pck.cpu_svn);
  claims[format_claim::kPlatformTcbStatus] = verification.platform_level.status;
  claims[format_claim::kTcbDate] = verification.platform_level.tcb_date;
  claims[format_claim::kTcbEvaluationDataNumber] = verification.tcb_info.tcb_evaluation_data_number;
  claims[format_claim::kQeTcbStatus] = verification.qe_level.status;
  claims[format_claim::kQeSvn] = checked.quote.qe_report.isv_svn;
  claims[format_claim::kCollateralExpiration] = detail::format_pcs_time(verification.collateral_expiration);
  return claims;
}

}  // namespace cloister::attestation::dcap

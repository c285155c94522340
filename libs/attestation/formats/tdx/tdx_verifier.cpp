#include "formats/tdx/tdx_verifier.h"

#include "cloister/crypto/hash.h"
#include "formats/dcap/dcap_claims.h"

namespace cloister::attestation::tdx {

TdxVerifier::TdxVerifier(dcap::DcapVerifierOptions options) : dcap_(std::move(options)) {}

std::string_view TdxVerifier::format_id() const { return kFormatId; }

Result<VerifiedEvidence> TdxVerifier::verify_format(const Evidence& evidence, const Collateral& collateral,
                                                    const VerificationContext& context) const {
  auto verified = dcap_.verify(evidence.evidence, dcap::kTeeTypeTdx, collateral, context.clock.unix_seconds());
  if (!verified) return std::unexpected(verified.error());
  return verified_evidence(*verified);
}

VerifiedEvidence verified_evidence(const dcap::DcapVerification& verification) {
  const dcap::TdReportBody& td = *verification.checked.quote.td_body;

  VerifiedEvidence out;
  out.format = std::string(kFormatId);
  out.claims.tee = std::string(tee::kTdx);
  out.claims.measurement = crypto::hex_encode(td.mr_td);
  out.claims.product_id = 0;
  out.claims.svn = 0;
  out.claims.debuggable = td.debug();
  out.claims.tcb_status = verification.tcb_status;
  out.claims.advisory_ids = verification.advisory_ids;
  out.claims.report_data.assign(td.report_data.begin(), td.report_data.end());

  nlohmann::json& claims = out.format_claims = dcap::common_format_claims(verification);
  claims[format_claim::kTdReportVersion] = td.tee_tcb_svn2 ? "1.5" : "1.0";
  claims[format_claim::kTeeTcbSvn] = crypto::hex_encode(td.tee_tcb_svn);
  claims[format_claim::kMrSeam] = crypto::hex_encode(td.mr_seam);
  claims[format_claim::kMrSignerSeam] = crypto::hex_encode(td.mr_signer_seam);
  claims[format_claim::kSeamAttributes] = crypto::hex_encode(td.seam_attributes);
  claims[format_claim::kTdAttributes] = crypto::hex_encode(td.td_attributes);
  claims[format_claim::kXfam] = crypto::hex_encode(td.xfam);
  claims[format_claim::kMrConfigId] = crypto::hex_encode(td.mr_config_id);
  claims[format_claim::kMrOwner] = crypto::hex_encode(td.mr_owner);
  claims[format_claim::kMrOwnerConfig] = crypto::hex_encode(td.mr_owner_config);
  for (std::size_t i = 0; i < 4; ++i) claims[format_claim::kRtmr[i]] = crypto::hex_encode(td.rtmr[i]);
  if (td.tee_tcb_svn2) claims[format_claim::kTeeTcbSvn2] = crypto::hex_encode(*td.tee_tcb_svn2);
  if (td.mr_service_td) claims[format_claim::kMrServiceTd] = crypto::hex_encode(*td.mr_service_td);
  if (verification.tdx_module) {
    const dcap::TdxModuleResult& module = *verification.tdx_module;
    nlohmann::json module_claims = {{"id", module.id}, {"version", module.version}, {"isv_svn", module.isv_svn}};
    module_claims["tcb_status"] = module.tcb_level ? module.tcb_level->status : std::string(tcb_status::kUpToDate);
    claims[format_claim::kTdxModule] = std::move(module_claims);
  }
  return out;
}

}  // namespace cloister::attestation::tdx

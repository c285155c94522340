#include "formats/sgx/sgx_verifier.h"

#include "cloister/crypto/hash.h"
#include "formats/dcap/dcap_claims.h"

namespace cloister::attestation::sgx {

SgxVerifier::SgxVerifier(dcap::DcapVerifierOptions options) : dcap_(std::move(options)) {}

std::string_view SgxVerifier::format_id() const { return kFormatId; }

Result<VerifiedEvidence> SgxVerifier::verify_format(const Evidence& evidence, const Collateral& collateral,
                                                    const VerificationContext& context) const {
  auto verified = dcap_.verify(evidence.evidence, dcap::kTeeTypeSgx, collateral, context.clock.unix_seconds());
  if (!verified) return std::unexpected(verified.error());
  return verified_evidence(*verified);
}

VerifiedEvidence verified_evidence(const dcap::DcapVerification& verification) {
  const dcap::SgxReportBody& body = *verification.checked.quote.sgx_body;

  VerifiedEvidence out;
  out.format = std::string(kFormatId);
  out.claims.tee = std::string(tee::kSgx);
  out.claims.measurement = crypto::hex_encode(body.mr_enclave);
  out.claims.signer = crypto::hex_encode(body.mr_signer);
  out.claims.product_id = body.isv_prod_id;
  out.claims.svn = body.isv_svn;
  out.claims.debuggable = body.debug();
  out.claims.tcb_status = verification.tcb_status;
  out.claims.advisory_ids = verification.advisory_ids;
  out.claims.report_data.assign(body.report_data.begin(), body.report_data.end());
  out.format_claims = dcap::common_format_claims(verification);
  const std::uint8_t misc[4] = {
      static_cast<std::uint8_t>(body.misc_select & 0xff), static_cast<std::uint8_t>((body.misc_select >> 8) & 0xff),
      static_cast<std::uint8_t>((body.misc_select >> 16) & 0xff), static_cast<std::uint8_t>(body.misc_select >> 24)};
  out.format_claims[format_claim::kAttributes] = crypto::hex_encode(body.attributes);
  out.format_claims[format_claim::kMiscSelect] = crypto::hex_encode(misc);
  out.format_claims[format_claim::kIsvExtProdId] = crypto::hex_encode(body.isv_ext_prod_id);
  out.format_claims[format_claim::kIsvFamilyId] = crypto::hex_encode(body.isv_family_id);
  out.format_claims[format_claim::kConfigId] = crypto::hex_encode(body.config_id);
  out.format_claims[format_claim::kConfigSvn] = body.config_svn;
  return out;
}

}  // namespace cloister::attestation::sgx

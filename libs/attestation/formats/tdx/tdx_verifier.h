#pragma once
// The tdx verifier: Intel TDX DCAP quotes v4 and v5 (body types 2 = TD report 1.0 and 3 = TD
// report 1.5), checked by the shared DCAP verification (formats/dcap/dcap_verifier.h), including
// the TDX module identity and TCB level of TCB info v3.
//
// Base claims: tee "tdx", measurement = MRTD, no signer, product_id 0, svn 0 (a TD has neither),
// debuggable = TDATTRIBUTES bit 0 (DEBUG), tcb_status and advisory_ids (platform, TDX module and QE
// combined as Intel's QVL does), report_data = REPORTDATA.
// Format claims: the shared DCAP ones (dcap_claims.h) plus td_report_version, tee_tcb_svn, mr_seam,
// mr_signer_seam, seam_attributes, td_attributes, xfam, mr_config_id, mr_owner, mr_owner_config,
// rtmr0…rtmr3, for TD report 1.5 tee_tcb_svn2 and mr_service_td, and tdx_module
// {id, version, isv_svn, tcb_status} (docs/attestation-formats.md).

#include <string_view>

#include "cloister/attestation/evidence_verifier.h"
#include "formats/dcap/dcap_verifier.h"

namespace cloister::attestation::tdx {

inline constexpr std::string_view kFormatId = "tdx";

namespace format_claim {
inline constexpr std::string_view kTdReportVersion = "td_report_version";  // "1.0" or "1.5"
inline constexpr std::string_view kTeeTcbSvn = "tee_tcb_svn";
inline constexpr std::string_view kMrSeam = "mr_seam";
inline constexpr std::string_view kMrSignerSeam = "mr_signer_seam";
inline constexpr std::string_view kSeamAttributes = "seam_attributes";
inline constexpr std::string_view kTdAttributes = "td_attributes";
inline constexpr std::string_view kXfam = "xfam";
inline constexpr std::string_view kMrConfigId = "mr_config_id";
inline constexpr std::string_view kMrOwner = "mr_owner";
inline constexpr std::string_view kMrOwnerConfig = "mr_owner_config";
inline constexpr std::string_view kRtmr[4] = {"rtmr0", "rtmr1", "rtmr2", "rtmr3"};
inline constexpr std::string_view kTeeTcbSvn2 = "tee_tcb_svn2";
inline constexpr std::string_view kMrServiceTd = "mr_service_td";
inline constexpr std::string_view kTdxModule = "tdx_module";  // {"id", "version", "isv_svn", "tcb_status"}
}  // namespace format_claim

// The claims of a tdx quote that passed dcap::DcapVerifier::verify (what verify_format returns).
VerifiedEvidence verified_evidence(const dcap::DcapVerification& verification);

class TdxVerifier final : public EvidenceVerifier {
 public:
  explicit TdxVerifier(dcap::DcapVerifierOptions options);

  std::string_view format_id() const override;

 protected:
  Result<VerifiedEvidence> verify_format(const Evidence& evidence, const Collateral& collateral,
                                         const VerificationContext& context) const override;

 private:
  dcap::DcapVerifier dcap_;
};

}  // namespace cloister::attestation::tdx

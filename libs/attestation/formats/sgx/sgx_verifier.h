#pragma once
// The sgx verifier: Intel SGX DCAP ECDSA quotes (v3; v4 and v5 SGX bodies too), checked by the
// shared DCAP verification (formats/dcap/dcap_verifier.h) against the collateral of the request.
//
// Base claims: tee "sgx", measurement = MRENCLAVE, signer = MRSIGNER, product_id = ISVPRODID,
// svn = ISVSVN, debuggable = ATTRIBUTES.FLAGS bit 1 (DEBUG), tcb_status and advisory_ids from the TCB
// info and QE identity (combined as Intel's QVL does), report_data = REPORTDATA.
// Format claims: the shared DCAP ones (dcap_claims.h) plus attributes, misc_select,
// isv_ext_prod_id, isv_family_id, config_id, config_svn (docs/attestation-formats.md).

#include <string_view>

#include "cloister/attestation/evidence_verifier.h"
#include "formats/dcap/dcap_verifier.h"

namespace cloister::attestation::sgx {

inline constexpr std::string_view kFormatId = "sgx";

namespace format_claim {
inline constexpr std::string_view kAttributes = "attributes";         // hex of FLAGS ‖ XFRM (16 bytes)
inline constexpr std::string_view kMiscSelect = "misc_select";        // hex of the 4 bytes as in the report
inline constexpr std::string_view kIsvExtProdId = "isv_ext_prod_id";  // hex
inline constexpr std::string_view kIsvFamilyId = "isv_family_id";     // hex
inline constexpr std::string_view kConfigId = "config_id";            // hex
inline constexpr std::string_view kConfigSvn = "config_svn";          // integer
}  // namespace format_claim

// The claims of a sgx quote that passed dcap::DcapVerifier::verify (what verify_format returns).
VerifiedEvidence verified_evidence(const dcap::DcapVerification& verification);

class SgxVerifier final : public EvidenceVerifier {
 public:
  explicit SgxVerifier(dcap::DcapVerifierOptions options);

  std::string_view format_id() const override;

 protected:
  Result<VerifiedEvidence> verify_format(const Evidence& evidence, const Collateral& collateral,
                                         const VerificationContext& context) const override;

 private:
  dcap::DcapVerifier dcap_;
};

}  // namespace cloister::attestation::sgx

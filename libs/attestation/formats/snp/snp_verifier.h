#pragma once
// The snp verifier: an AMD SEV-SNP attestation report signed by a VCEK or VLEK whose certificate
// chains (RSASSA-PSS) to a pinned AMD Root Key. docs/attestation-formats.md ("snp") documents the
// checks, the claims and the collateral.

#include <vector>

#include "cloister/attestation/evidence_verifier.h"
#include "cloister/crypto/x509.h"
#include "formats/snp/snp_report.h"

namespace cloister::attestation::snp {

// Members of the snp format's x-cloister-format-claims.
namespace format_claim {
inline constexpr std::string_view kVersion = "version";            // report version (integer)
inline constexpr std::string_view kGuestSvn = "guest_svn";         // integer (also the svn claim)
inline constexpr std::string_view kPolicy = "policy";              // the 64-bit guest policy (integer)
inline constexpr std::string_view kVmpl = "vmpl";                  // integer 0..3
inline constexpr std::string_view kSigningKey = "signing_key";     // "vcek" or "vlek"
inline constexpr std::string_view kProduct = "product";            // "Milan", "Genoa" or "Turin"
inline constexpr std::string_view kProductName = "product_name";   // the certificate's, e.g. "Milan-B0"
inline constexpr std::string_view kFamilyId = "family_id";         // hex (16 bytes)
inline constexpr std::string_view kImageId = "image_id";           // hex (16 bytes)
inline constexpr std::string_view kHostData = "host_data";         // hex (32 bytes)
inline constexpr std::string_view kChipId = "chip_id";             // hex (64 bytes; zero when masked / VLEK)
inline constexpr std::string_view kIdKeyDigest = "id_key_digest";  // hex (48 bytes)
inline constexpr std::string_view kAuthorKeyDigest = "author_key_digest";  // hex (48 bytes)
inline constexpr std::string_view kPlatformInfo = "platform_info";  // integer
inline constexpr std::string_view kReportedTcb = "reported_tcb";    // TCB object (below)
inline constexpr std::string_view kCurrentTcb = "current_tcb";      // TCB object
inline constexpr std::string_view kCommittedTcb = "committed_tcb";  // TCB object
// TCB object members: integers; "fmc" only on Turin.
inline constexpr std::string_view kTcbBootloader = "bootloader";
inline constexpr std::string_view kTcbTee = "tee";
inline constexpr std::string_view kTcbSnp = "snp";
inline constexpr std::string_view kTcbMicrocode = "microcode";
inline constexpr std::string_view kTcbFmc = "fmc";
}  // namespace format_claim

class SnpVerifier final : public EvidenceVerifier {
 public:
  // The ARKs to pin; empty = AMD's Milan, Genoa and Turin ARKs (default_arks()).
  explicit SnpVerifier(std::vector<crypto::Certificate> trusted_arks = {});

  std::string_view format_id() const override;

  // The format's own checks (verify_format below) without the runtime-data binding that verify()
  // adds: for inspecting real reports whose report data binds something other than Cloister runtime
  // data (test vectors, `cloister` diagnostics). A token is only ever issued through verify().
  Result<VerifiedEvidence> verify_report(const Evidence& evidence, const Collateral& collateral,
                                         const VerificationContext& context) const {
    return verify_format(evidence, collateral, context);
  }

 protected:
  // In order: parse (evidence_malformed); SIGNING_KEY 7 (unsigned) → evidence_signature_invalid;
  // collateral members (bad_encoding, cert_parse_failed); the VCEK/VLEK from the collateral or the
  // evidence (collateral_missing); a CRL outside its validity (collateral_stale) or not signed by a
  // pinned ARK (cert_chain_invalid); a self-signed certificate in the chain that is not a pinned ARK
  // (cert_chain_invalid); the chain at the context's clock (cert_chain_invalid, cert_expired,
  // cert_revoked); the VCEK/VLEK's AMD extensions (cert_parse_failed); the certificate kind vs the
  // report's SIGNING_KEY (evidence_collateral_mismatch); the report signature
  // (evidence_signature_invalid); then evidence_collateral_mismatch when a reported TCB component
  // exceeds the certificate's SPL, a VCEK's hwID is not the report's CHIP_ID, or a v3+ report's
  // CPUID names another product than the certificate.
  Result<VerifiedEvidence> verify_format(const Evidence& evidence, const Collateral& collateral,
                                         const VerificationContext& context) const override;

 private:
  bool is_pinned(const crypto::Certificate& certificate) const;

  std::vector<crypto::Certificate> arks_;
};

}  // namespace cloister::attestation::snp

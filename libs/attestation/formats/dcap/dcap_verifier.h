#pragma once
// The verification shared by the sgx and tdx formats (Intel DCAP; docs/attestation-formats.md):
// quote signature by the attestation key, QE binding, PCK chain to a pinned root, QE report
// signature by the PCK key, root and PCK CRLs, TCB info and QE identity signed by the TCB Signing
// chain, their freshness, QE identity and TCB level matching (incl. the TDX module) and the final
// TCB status as Intel's QVL combines it.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cloister/attestation/evidence.h"
#include "cloister/core/error.h"
#include "cloister/crypto/bytes.h"
#include "cloister/crypto/x509.h"
#include "formats/dcap/pck_certificate.h"
#include "formats/dcap/quote.h"
#include "formats/dcap/tcb_info.h"

namespace cloister::attestation::dcap {

// What the sgx and tdx verifiers are configured with (FormatConfig::dcap).
struct DcapVerifierOptions {
  // Trust anchors of the PCK and TCB Signing chains, pinned by key: a chain must end at a
  // self-signed certificate whose key is one of these. Empty: the Intel SGX Root CA
  // (intel_root_ca.h) — the only root a production deployment should pin.
  std::vector<crypto::Certificate> root_cas;
  // Do not compare the CRLs' thisUpdate / nextUpdate with the clock (their signatures, issuers and
  // revocation entries are still checked). For replaying archived evidence whose CRLs never overlap
  // the rest of its collateral (e.g. the PCK CRL expiring before the TCB info was issued). Off by
  // default: a stale CRL is collateral_stale.
  bool ignore_crl_freshness = false;
};

// What check_quote establishes: the quote, its signatures and its PCK chain.
struct CheckedQuote {
  Quote quote;
  PckChain pck_chain;
  PckExtensions pck;
  PckCa pck_ca = PckCa::platform;
};

struct TdxModuleResult {
  std::string id;                             // "TDX_01", …; empty when matched against tcbInfo.tdxModule
  std::uint8_t version = 0;                   // TEE_TCB_SVN[1]
  std::uint8_t isv_svn = 0;                   // TEE_TCB_SVN[0]
  std::optional<IdentityTcbLevel> tcb_level;  // the module identity's level, when one applies
};

// Everything a full verification establishes.
struct DcapVerification {
  CheckedQuote checked;
  TcbInfo tcb_info;
  EnclaveIdentity qe_identity;
  TcbLevel platform_level;  // SGX: the SGX level; TDX: the level matching SGX and TDX components
  IdentityTcbLevel qe_level;
  std::optional<TdxModuleResult> tdx_module;
  std::string tcb_status;                  // the combined status (claims.h tcb_status::k*)
  std::vector<std::string> advisory_ids;   // platform, TDX module and QE advisories, without repeats
  std::int64_t collateral_expiration = 0;  // earliest nextUpdate / notAfter of everything used
};

class DcapVerifier {
 public:
  explicit DcapVerifier(DcapVerifierOptions options);

  const std::vector<crypto::Certificate>& root_cas() const { return roots_; }

  // Parses the quote and checks what needs no collateral (except, for quotes without a PCK chain,
  // the pck_certificate_chain member): TEE type, attestation key type, QE vendor, quote signature,
  // QE binding, PCK chain to a pinned root at `now`, QE report signature. Errors:
  // evidence_malformed, evidence_untrusted_platform (not an Intel QE), evidence_signature_invalid,
  // cert_chain_invalid, cert_expired, collateral_missing.
  Result<CheckedQuote> check_quote(crypto::BytesView evidence, std::uint32_t tee_type, const Collateral& collateral,
                                   std::int64_t now) const;

  // check_quote, then the collateral. Further errors: collateral_missing, bad_encoding,
  // collateral_stale, evidence_collateral_mismatch, signature_invalid (a CRL, TCB info or QE identity),
  // cert_chain_invalid / cert_revoked, qe_identity_mismatch, tdx_module_mismatch,
  // tcb_level_not_found.
  Result<DcapVerification> verify(crypto::BytesView evidence, std::uint32_t tee_type, const Collateral& collateral,
                                  std::int64_t now) const;

 private:
  Status check_signed_by_pinned_root(const crypto::Crl& crl) const;

  std::vector<crypto::Certificate> roots_;
  bool ignore_crl_freshness_ = false;
};

// Intel's TCB status convergence (QVL convergeTcbStatusWithQeTcbStatus /
// convergeTcbStatusWithTdxModuleStatus): a QE or TDX module level that is OutOfDate makes an
// UpToDate / SWHardeningNeeded platform OutOfDate and a ConfigurationNeeded /
// ConfigurationAndSWHardeningNeeded one OutOfDateConfigurationNeeded; Revoked makes it Revoked.
std::string converge_tcb_status(const std::string& platform_status, const std::string& other_status);

}  // namespace cloister::attestation::dcap

#pragma once
// Collateral of the DCAP formats (sgx, tdx): Collateral::documents holds the members of the
// dcap-qvl collateral bundle (QuoteCollateralV3 as JSON), every member a string:
//
//   pck_crl_issuer_chain      PEM: the PCK CA that signed pck_crl, then the root (optional: the
//                             quote's own PCK chain already names that CA)
//   root_ca_crl               the Intel SGX Root CA's CRL: hex of its DER, or PEM
//   pck_crl                   the PCK CA's CRL (ca=platform or ca=processor): hex of its DER, or PEM
//   tcb_info_issuer_chain     PEM: Intel SGX TCB Signing, then the root
//   tcb_info                  the exact JSON text of the "tcbInfo" value Intel signed
//   tcb_info_signature        hex of the 64-byte raw r ‖ s ECDSA P-256 signature over tcb_info
//   qe_identity_issuer_chain  PEM: Intel SGX TCB Signing, then the root
//   qe_identity               the exact JSON text of the "enclaveIdentity" value Intel signed
//   qe_identity_signature     hex of the 64-byte raw r ‖ s signature over qe_identity
//   pck_certificate_chain     (Cloister's addition, optional) PEM: PCK leaf, PCK CA [, root], for
//                             quotes whose certification data carries no PCK chain (types 1–4)
//
// The JSON text is hashed exactly as given: a pretty-printed copy of a PCS document does not verify.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cloister/attestation/evidence.h"
#include "cloister/core/error.h"
#include "cloister/crypto/bytes.h"
#include "cloister/crypto/x509.h"

namespace cloister::attestation::dcap {

namespace member {
inline constexpr std::string_view kPckCrlIssuerChain = "pck_crl_issuer_chain";
inline constexpr std::string_view kRootCaCrl = "root_ca_crl";
inline constexpr std::string_view kPckCrl = "pck_crl";
inline constexpr std::string_view kTcbInfoIssuerChain = "tcb_info_issuer_chain";
inline constexpr std::string_view kTcbInfo = "tcb_info";
inline constexpr std::string_view kTcbInfoSignature = "tcb_info_signature";
inline constexpr std::string_view kQeIdentityIssuerChain = "qe_identity_issuer_chain";
inline constexpr std::string_view kQeIdentity = "qe_identity";
inline constexpr std::string_view kQeIdentitySignature = "qe_identity_signature";
inline constexpr std::string_view kPckCertificateChain = "pck_certificate_chain";
}  // namespace member

// A document Intel signed with the TCB Signing key.
struct SignedDocument {
  std::string body;                               // the exact signed text
  crypto::Bytes signature;                        // raw r ‖ s, 64 bytes
  std::vector<crypto::Certificate> issuer_chain;  // TCB Signing [, root]
};

// The collateral members the verifier needs, decoded (nothing verified yet).
struct DcapCollateral {
  crypto::Crl root_ca_crl;
  crypto::Crl pck_crl;
  std::optional<std::vector<crypto::Certificate>> pck_crl_issuer_chain;
  SignedDocument tcb_info;
  SignedDocument qe_identity;
};

// collateral_missing naming every absent member; bad_encoding for a member that is not a string
// or does not decode (hex, PEM, DER).
Result<DcapCollateral> decode_collateral(const Collateral& collateral);

// The optional pck_certificate_chain member (nullopt when absent; bad_encoding when not a string).
Result<std::optional<std::string>> pck_certificate_chain_member(const Collateral& collateral);

// Reads collateral files for `format` ("sgx" or "tdx"): a dcap-qvl bundle (*_collateral.json), PCS
// response bodies ({"tcbInfo":…,"signature":…} and {"enclaveIdentity":…,"signature":…}),
// certificates (PEM or DER: TCB Signing, PCK CA, PCK leaf, root) and CRLs (PEM or DER). A directory
// contributes the files directly in it that it recognises (others, e.g. quotes, are skipped; so are
// TCB infos and enclave identities of the other TEE and QvE identities); a file named explicitly
// must be recognised. Roles are told apart by content (subject and issuer names, the document id).
// invalid_argument when two different documents claim the same member (e.g. two TCB infos: name
// the files instead of the directory); io_error for unreadable paths; collateral_missing when the
// files lack a member the verifier requires.
Result<Collateral> load_collateral_files(std::string_view format, const std::vector<std::filesystem::path>& paths);

// Collateral for a quote from an operator's collateral store (docs/attestation-formats.md, "The
// collateral store"), looked up by the quote's FMSPC and PCK CA:
//   <store>/root_ca_crl.der                      Intel SGX Root CA CRL (DER or PEM)
//   <store>/tcb_signing_chain.pem                Intel SGX TCB Signing certificate and root
//   <store>/pck_crl/<platform|processor>.der     PCK CRL of that CA (DER or PEM)
//   <store>/<sgx|tdx>/qe_identity.json           PCS enclave identity response body
//   <store>/<sgx|tdx>/tcb_info/<fmspc>.json      PCS TCB info response body; fmspc in lower-case hex
// evidence_malformed when the quote cannot be parsed or carries no PCK chain to read the FMSPC
// from; collateral_missing naming the first absent file.
Result<Collateral> load_collateral_store(std::string_view format, const std::filesystem::path& store,
                                         crypto::BytesView evidence);

}  // namespace cloister::attestation::dcap

#pragma once
// The one explicit list of evidence formats (no self-registration: static libraries drop
// self-registering objects). A new format adds one line to make_evidence_verifiers (and, when it
// can attest, one to make_attester) in src/format_registry.cpp and must pass test/conformance_test.cpp.
// The formats, their byte layouts and verification steps: docs/attestation-formats.md.

#include <filesystem>
#include <memory>
#include <string_view>
#include <vector>

#include "cloister/attestation/attester.h"
#include "cloister/attestation/evidence_verifier.h"
#include "cloister/core/error.h"
#include "cloister/crypto/keys.h"
#include "cloister/crypto/x509.h"
#include "formats/dcap/dcap_verifier.h"
#include "formats/sgx/gramine_attester.h"
#include "formats/sim/sim_attester.h"
#include "formats/tsm/tsm_attester.h"

namespace cloister::attestation {

// What the verifiers of every format are configured with.
struct FormatConfig {
  // The simulated-platform public keys the sim verifier trusts (ECDSA P-256). Empty: every sim
  // evidence is refused with evidence_untrusted_platform.
  std::vector<crypto::PublicKey> sim_platform_keys;
  // The sgx and tdx verifiers (Intel DCAP): the pinned roots (empty: the Intel SGX Root CA,
  // compiled in) and whether CRL thisUpdate/nextUpdate are ignored (off: stale CRLs are refused).
  dcap::DcapVerifierOptions dcap;
  // The AMD Root Keys (self-signed ARK certificates) the snp verifier pins, by key. Empty: AMD's
  // Milan, Genoa and Turin ARKs, compiled in (formats/snp/amd_roots.cpp).
  std::vector<crypto::Certificate> snp_trusted_arks;
};

// One verifier per supported format, in a fixed order.
std::vector<std::unique_ptr<EvidenceVerifier>> make_evidence_verifiers(const FormatConfig& config);

// The verifier for `format`; unsupported_format when none has that id.
Result<const EvidenceVerifier*> find(const std::vector<std::unique_ptr<EvidenceVerifier>>& verifiers,
                                     std::string_view format);

// Collateral given as files — the CLI's `--collateral FILE|DIR` (repeatable): each format reads the
// files it understands (certificates DER or PEM, CRLs, TCB info / QE identity JSON, collateral
// bundles) into Collateral::documents. unsupported_format for an unknown format; collateral_missing
// or bad_encoding when the files do not hold what the format needs. The sim format needs none.
Result<Collateral> load_collateral_files(std::string_view format, const std::vector<std::filesystem::path>& paths);

// Collateral for `evidence` from the operator's collateral store (the PCCS role): a directory laid out
// as docs/attestation.md says, looked up by what the evidence names (e.g. FMSPC and CA for DCAP, chip
// and TCB for SNP). collateral_missing when the store holds none for this evidence.
Result<Collateral> load_collateral_store(std::string_view format, const std::filesystem::path& store,
                                         BytesView evidence);

// What the attesters of every format are configured with.
struct AttesterConfig {
  sim::SimAttesterOptions sim;
  // Gramine's /dev/attestation (formats/sgx): the attester of "sgx"; root "/" inside Gramine.
  sgx::GramineAttesterOptions gramine;
  // Linux configfs-tsm (formats/tsm): the attester of "snp" and "tdx".
  tsm::TsmAttesterOptions tsm;
};

// The attester for `format` on this machine; unsupported_format for a format with no attester here,
// or the attester's own error (e.g. an unreadable platform key).
Result<std::unique_ptr<Attester>> make_attester(std::string_view format, const AttesterConfig& config);

}  // namespace cloister::attestation

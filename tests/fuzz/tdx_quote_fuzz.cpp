// Fuzzes the tdx evidence path with untrusted bytes: the DCAP quote parser (v4, v5 with TD report
// 1.0 and 1.5), the whole tdx verification (quote signature, QE binding, PCK chain to the pinned
// Intel root, QE report signature, then the collateral: CRLs, TCB info with the TDX module
// identities, QE identity, TCB level) with fixed collateral, and the TCB info / enclave identity
// parsers and PCS response member extraction. Any crash, sanitizer report or exception is a finding.
//
// Fixed collateral: ../shared/vectors/phala-dcap-qvl/tdx_quote_collateral.json when present (run
// from the repository root, as scripts/fuzz.sh does), at an instant inside its window, so the
// unmodified Phala seed verifies all the way through; without it, none. Seeds:
// tests/fuzz/corpus/tdx_quote/.

#include <cstddef>
#include <cstdint>
#include <string>

#include "cloister/attestation/evidence.h"
#include "formats/dcap/dcap_collateral.h"
#include "formats/dcap/dcap_util.h"
#include "formats/dcap/dcap_verifier.h"
#include "formats/dcap/pck_certificate.h"
#include "formats/dcap/quote.h"
#include "formats/dcap/tcb_info.h"
#include "formats/tdx/tdx_verifier.h"

namespace attestation = cloister::attestation;
namespace dcap = cloister::attestation::dcap;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const dcap::DcapVerifier verifier({});  // the Intel SGX Root CA
  static const attestation::Collateral collateral = [] {
    auto loaded = dcap::load_collateral_files("tdx", {"../shared/vectors/phala-dcap-qvl/tdx_quote_collateral.json"});
    return loaded ? *loaded : attestation::Collateral{};
  }();
  static const std::int64_t now = 1'751'673'600;  // 2025-07-05T00:00:00Z, inside that collateral's window
  const cloister::crypto::BytesView input(data, size);

  if (auto quote = dcap::parse_quote(input)) {
    (void)dcap::parse_quote_pck_chain(quote->certification_data);
  }
  if (auto verified = verifier.verify(input, dcap::kTeeTypeTdx, collateral, now)) {
    (void)attestation::tdx::verified_evidence(*verified);
  }

  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)dcap::parse_tcb_info(text);
  (void)dcap::parse_enclave_identity(text);
  (void)dcap::detail::raw_member_text(text, "enclaveIdentity");
  return 0;
}

// Fuzzes the sgx evidence path with untrusted bytes: the DCAP quote parser, the whole sgx
// verification (quote signature, QE binding, PCK chain to the pinned Intel root, QE report
// signature, then the collateral: CRLs, TCB info, QE identity, TCB level) with fixed collateral,
// and the parsers of the other untrusted inputs (PCK chain and SGX extension, TCB info and QE
// identity JSON, PCS response bodies). Any crash, sanitizer report or exception is a finding.
//
// Fixed collateral: ../shared/vectors/phala-dcap-qvl/sgx_quote_collateral.json when present (run
// from the repository root, as scripts/fuzz.sh does), at an instant inside its window, so the
// unmodified seed verifies all the way through; without it, none. Seeds: tests/fuzz/corpus/sgx_quote/.

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
#include "formats/sgx/sgx_verifier.h"

namespace attestation = cloister::attestation;
namespace dcap = cloister::attestation::dcap;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const dcap::DcapVerifier verifier({});  // the Intel SGX Root CA
  static const attestation::Collateral collateral = [] {
    auto loaded = dcap::load_collateral_files("sgx", {"../shared/vectors/phala-dcap-qvl/sgx_quote_collateral.json"});
    return loaded ? *loaded : attestation::Collateral{};
  }();
  static const std::int64_t now = 1'751'328'000;  // 2025-07-01T00:00:00Z, inside that collateral's window
  const cloister::crypto::BytesView input(data, size);

  if (auto quote = dcap::parse_quote(input)) {
    (void)dcap::parse_quote_pck_chain(quote->certification_data);
    (void)dcap::parse_sgx_report_body(quote->qe_report_raw);
  }
  if (auto verified = verifier.verify(input, dcap::kTeeTypeSgx, collateral, now)) {
    (void)attestation::sgx::verified_evidence(*verified);
  }

  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)dcap::parse_pck_extensions(input);
  (void)dcap::parse_tcb_info(text);
  (void)dcap::parse_enclave_identity(text);
  (void)dcap::detail::raw_member_text(text, "tcbInfo");
  (void)dcap::detail::parse_pcs_time(text);
  return 0;
}

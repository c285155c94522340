// Fuzzes the snp evidence path with untrusted bytes: the report and certificate-table parsers, the
// whole verifier (collateral from the evidence's own table: certificates, AMD extensions, chain to
// the pinned AMD ARKs, signature) and the AMD extension decoders. Any crash, sanitizer report or
// exception is a finding; refusals are the expected outcome.
//
// Seeds: tests/fuzz/corpus/snp_report/ (real reports from ../shared/vectors, one with its VCEK and
// the KDS chain appended as a certificate table).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cloister/attestation/evidence.h"
#include "cloister/core/clock.h"
#include "formats/snp/snp_certs.h"
#include "formats/snp/snp_report.h"
#include "formats/snp/snp_verifier.h"

namespace snp = cloister::attestation::snp;
namespace crypto = cloister::crypto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const snp::SnpVerifier verifier;                                     // AMD's ARKs
  static const auto clock = cloister::ManualClock::at_unix(1'735'689'600);    // 2025-01-01, inside the real VCEKs
  const crypto::BytesView input(data, size);

  if (auto evidence = snp::parse_evidence(input)) {
    (void)snp::signature_der(evidence->report);
    // TCB_VERSION round trip keeps exactly the bytes each layout defines.
    const std::uint64_t raw = evidence->report.reported_tcb;
    if (snp::encode_tcb(snp::decode_tcb(raw, snp::Generation::milan), snp::Generation::milan) !=
            (raw & 0xFFFF00000000FFFFull) ||
        snp::encode_tcb(snp::decode_tcb(raw, snp::Generation::turin), snp::Generation::turin) !=
            (raw & 0xFF000000FFFFFFFFull)) {
      __builtin_trap();
    }
    for (const auto& entry : evidence->certificates) {
      if (auto certificate = crypto::Certificate::from_der(entry.der)) {
        (void)snp::read_signing_key_certificate(*certificate);
      }
    }
    const cloister::attestation::Evidence whole{"snp", crypto::Bytes(input.begin(), input.end()), {}, std::nullopt};
    (void)verifier.verify_report(whole, cloister::attestation::Collateral{},
                                 cloister::attestation::VerificationContext{clock});
  }

  (void)snp::parse_cert_table(input);
  (void)snp::decode_spl(input);
  (void)snp::decode_hw_id(input);
  (void)snp::decode_product_name(input);
  (void)snp::common_name(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}

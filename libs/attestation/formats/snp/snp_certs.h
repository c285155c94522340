#pragma once
// AMD SEV-SNP certificates: the pinned AMD Root Keys (ARK) and what a VCEK/VLEK certificate says
// about the chip and TCB it endorses (AMD's X.509 extensions under 1.3.6.1.4.1.3704.1).
//
// Chain (every signature RSASSA-PSS / SHA-384 / MGF1-SHA-384 / salt 48):
//   ARK-<product> (self-signed) → SEV-<product> (ASK)      → SEV-VCEK (chip- and TCB-specific)
//   ARK-<product>               → SEV-VLEK-<product> (ASVK) → SEV-VLEK (per cloud provider, per TCB)

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cloister/core/error.h"
#include "cloister/crypto/bytes.h"
#include "cloister/crypto/x509.h"
#include "formats/snp/snp_report.h"

namespace cloister::attestation::snp {

// AMD's certificate extensions.
inline constexpr std::string_view kOidStructVersion = "1.3.6.1.4.1.3704.1.1";
inline constexpr std::string_view kOidProductName = "1.3.6.1.4.1.3704.1.2";  // IA5String, e.g. "Milan-B0"
inline constexpr std::string_view kOidBootloaderSpl = "1.3.6.1.4.1.3704.1.3.1";
inline constexpr std::string_view kOidTeeSpl = "1.3.6.1.4.1.3704.1.3.2";
inline constexpr std::string_view kOidSnpSpl = "1.3.6.1.4.1.3704.1.3.3";
inline constexpr std::string_view kOidMicrocodeSpl = "1.3.6.1.4.1.3704.1.3.8";
inline constexpr std::string_view kOidFmcSpl = "1.3.6.1.4.1.3704.1.3.9";  // Turin
inline constexpr std::string_view kOidHwId = "1.3.6.1.4.1.3704.1.4";      // VCEK only
inline constexpr std::string_view kOidCspId = "1.3.6.1.4.1.3704.1.5";     // VLEK only

// The ARK PEMs compiled in (amd_roots.cpp).
extern const std::string_view kArkMilanPem;
extern const std::string_view kArkGenoaPem;
extern const std::string_view kArkTurinPem;

// The Milan, Genoa and Turin ARKs, parsed once: the roots the snp verifier pins by default.
const std::vector<crypto::Certificate>& default_arks();

// The first CN of an RFC 2253 name as crypto::Certificate prints it ("" when none).
std::string common_name(std::string_view rfc2253_name);

// Extension values (the extnValue octets crypto::Certificate::extension_der returns):
// an SPL is a DER INTEGER 0..255 (cert_parse_failed otherwise);
Result<std::uint8_t> decode_spl(crypto::BytesView extension_value);
// the product name a DER IA5String of printable ASCII;
Result<std::string> decode_product_name(crypto::BytesView extension_value);
// the hwID either the raw chip id (64 bytes Milan/Genoa, 8 bytes Turin) or, as some tooling writes
// it, that value wrapped in a DER OCTET STRING (04 40 ‖ 64 bytes, 04 08 ‖ 8 bytes).
Result<crypto::Bytes> decode_hw_id(crypto::BytesView extension_value);

// What a VCEK/VLEK certificate endorses.
struct SigningKeyCertificate {
  crypto::Certificate certificate;
  SigningKey kind = SigningKey::vcek;   // subject CN "SEV-VCEK" or "SEV-VLEK"
  Generation generation = Generation::milan;  // issuer CN "SEV-<product>" / "SEV-VLEK-<product>"
  std::string product_name;             // the productName extension, e.g. "Milan-B0"
  TcbVersion tcb;                       // the SPL extensions (fmcSPL on Turin)
  std::optional<crypto::Bytes> hw_id;   // the hwID extension (VCEK)
};

// cert_parse_failed unless `certificate` is shaped like an AMD VCEK or VLEK: subject CN SEV-VCEK /
// SEV-VLEK, issuer CN naming a known product (and the VLEK signer for a VLEK), an ECDSA P-384 key,
// a product name whose first part (before '-') names no other known product, the bootloader/TEE/SNP/microcode
// SPLs (and fmcSPL on Turin), a decodable hwID on a VCEK. Checks no signature.
Result<SigningKeyCertificate> read_signing_key_certificate(const crypto::Certificate& certificate);

}  // namespace cloister::attestation::snp

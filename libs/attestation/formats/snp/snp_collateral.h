#pragma once
// Collateral of the snp format: the VCEK or VLEK certificate that signed the report, the AMD chain
// above it and, optionally, AMD's CRL. docs/attestation-formats.md ("snp") documents the members,
// the files load_collateral_files reads and the collateral store layout.
//
// Collateral::documents members (all optional; each a JSON string):
//   "vcek"        the VCEK certificate: PEM, or base64 (RFC 4648, padded) of the DER
//   "vlek"        the VLEK certificate: PEM or base64 DER
//   "cert_chain"  PEM bundle with the ASK (for a VCEK) and/or the ASVK (for a VLEK), usually with the
//                 ARK: what KDS serves at /vcek/v1/<product>/cert_chain or /vlek/v1/<product>/cert_chain
//   "crl"         AMD's CRL for the product (KDS /vcek/v1/<product>/crl): PEM or base64 DER
// The VCEK/VLEK, ASK/ASVK and ARK may instead travel inside the evidence (its certificate table);
// collateral members take precedence over the evidence's certificates.

#include <filesystem>
#include <optional>
#include <string_view>
#include <vector>

#include "cloister/attestation/evidence.h"
#include "cloister/core/error.h"
#include "cloister/crypto/bytes.h"
#include "cloister/crypto/x509.h"

namespace cloister::attestation::snp {

inline constexpr std::string_view kCollateralVcek = "vcek";
inline constexpr std::string_view kCollateralVlek = "vlek";
inline constexpr std::string_view kCollateralCertChain = "cert_chain";
inline constexpr std::string_view kCollateralCrl = "crl";

struct SnpCollateral {
  std::optional<crypto::Certificate> vcek;
  std::optional<crypto::Certificate> vlek;
  std::vector<crypto::Certificate> cert_chain;
  std::optional<crypto::Crl> crl;
};

// Reads the members above: bad_encoding when a member is not a string or its base64 is invalid,
// cert_parse_failed when its certificate or CRL does not parse. Unknown members are ignored.
Result<SnpCollateral> read_collateral(const Collateral& collateral);

// The members above from files (load_collateral_files("snp", paths)): each path a file or a
// directory (its regular files, not recursive). A file may hold PEM certificates and CRLs or one
// DER certificate or CRL. Certificates whose subject CN is SEV-VCEK / SEV-VLEK become "vcek" /
// "vlek" (invalid_argument for two different ones), every other certificate joins "cert_chain", a
// CRL becomes "crl". A named file that holds none of these is bad_encoding; in a directory such
// files are skipped. collateral_missing when nothing was found.
Result<Collateral> load_collateral_files(const std::vector<std::filesystem::path>& paths);

// The collateral store (the operator's mirror of AMD KDS), looked up by what the evidence names:
//   <store>/snp/vcek/<chip id hex>/<reported TCB hex>.der|.pem   (Turin: the 8-byte hwID hex also)
//   <store>/snp/vlek/<reported TCB hex>.der|.pem
//   <store>/snp/<Milan|Genoa|Turin>/vcek_cert_chain.pem, vlek_cert_chain.pem   (ASK/ASVK + ARK)
//   <store>/snp/<Milan|Genoa|Turin>/vcek_crl.der|.pem, vlek_crl.der|.pem       (optional)
// chip id hex: the report's 64-byte CHIP_ID, lower-case; reported TCB hex: REPORTED_TCB as a
// 64-bit little-endian integer, 16 lower-case hex digits (e.g. 7308000000000003). The product comes
// from the VCEK/VLEK found (or carried by the evidence). evidence_malformed for unparsable evidence;
// collateral_missing when neither the store nor the evidence holds the signing-key certificate.
Result<Collateral> load_collateral_store(const std::filesystem::path& store, crypto::BytesView evidence);

}  // namespace cloister::attestation::snp

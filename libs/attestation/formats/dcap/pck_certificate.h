#pragma once
// PCK certificates: the Intel SGX extension of the PCK leaf (OID 1.2.840.113741.1.13.1) and the
// PCK certificate chain a quote carries (certification data type 5).

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cloister/core/error.h"
#include "cloister/crypto/bytes.h"
#include "cloister/crypto/x509.h"

namespace cloister::attestation::dcap {

inline constexpr std::string_view kSgxExtensionsOid = "1.2.840.113741.1.13.1";

// What the PCK leaf's SGX extension says about the platform.
struct PckExtensions {
  crypto::Bytes ppid;                             // .1 (16 bytes)
  std::array<std::uint8_t, 16> tcb_components{};  // .2.1 … .2.16
  std::uint16_t pce_svn = 0;                      // .2.17
  std::array<std::uint8_t, 16> cpu_svn{};         // .2.18
  std::array<std::uint8_t, 2> pce_id{};           // .3
  std::array<std::uint8_t, 6> fmspc{};            // .4
  std::optional<int> sgx_type;                    // .5 (0 Standard, 1 Scalable, 2 Scalable with integrity)
};

// Parses the extnValue of the SGX extension (a DER SEQUENCE of (OID, value) pairs). Strict on the
// members it reads (types and sizes), tolerant of members it does not know. evidence_malformed.
Result<PckExtensions> parse_pck_extensions(crypto::BytesView der);
// The extensions of a certificate; evidence_malformed when it has none.
Result<PckExtensions> pck_extensions(const crypto::Certificate& leaf);

// Which Intel PCK CA issued a PCK certificate (the `ca` parameter of the PCS PCK CRL).
enum class PckCa { platform, processor };
std::string_view to_string(PckCa ca);
// From the issuer's common name ("Intel SGX PCK Platform CA" / "Intel SGX PCK Processor CA").
std::optional<PckCa> pck_ca_of(const crypto::Certificate& leaf);

// A PCK chain: leaf ← PCK CA ← root (the root is optional in collateral: the pinned root is the
// trust anchor either way).
struct PckChain {
  crypto::Certificate leaf;
  crypto::Certificate ca;
  std::optional<crypto::Certificate> root;
};

// The certification data of type 5 as real quotes carry it: exactly three PEM certificates (leaf,
// PCK CA, root) in the canonical form OpenSSL writes, optionally followed by one NUL. Requiring
// the canonical form means no byte of it goes unchecked: every byte either changes a certificate
// (whose signature then fails) or makes the text non-canonical. evidence_malformed otherwise.
Result<PckChain> parse_quote_pck_chain(crypto::BytesView certification_data);

// A PCK chain supplied as collateral (PEM, any order, the root optional): the leaf is the one
// certificate that is not a CA, the PCK CA the one that issued it, the root the self-signed one.
// bad_encoding when the text does not hold such a chain.
Result<PckChain> parse_collateral_pck_chain(std::string_view pem);

// Whether a certificate names itself as issuer (a root).
bool is_self_issued(const crypto::Certificate& certificate);

}  // namespace cloister::attestation::dcap

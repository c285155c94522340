#pragma once
// Intel DCAP ECDSA quotes: v3 (SGX), v4 (SGX or TDX) and v5 (SGX, TD report 1.0 or TD report 1.5),
// parsed strictly by their length fields (docs/attestation-formats.md has the layouts).
//
// Integers are little-endian. Layout:
//   header (48)  version u16, attestation key type u16, tee type u32 (v3: reserved), qe svn u16,
//                pce svn u16, QE vendor id (16), user data (20)
//   v3, v4:      body (SGX report body 384 bytes, or TD report 1.0 584 bytes for tee type TDX)
//   v5:          body type u16 (1 SGX, 2 TD 1.0, 3 TD 1.5), body size u32, body
//   signature data length u32, then the signature data:
//     quote signature (64, raw r ‖ s over SHA-256 of everything before the length field),
//     attestation key (64, raw X ‖ Y of a P-256 point),
//     v4/v5 only: certification data type u16 = 6, size u32 (the rest, exactly),
//     QE report (384, an SGX report body), QE report signature (64, by the PCK key),
//     QE auth data size u16, QE auth data, certification data type u16, size u32, data.
// Every length must add up exactly: the signature data must end where its length field says and
// the nested certification data must fill its parent. Bytes after the signature data (real quotes
// come in zero-padded buffers, and go-tdx-guest's SPR sample carries 39 bytes of text) are
// tolerated and ignored: no signature covers them, nothing is read from them, and trailing_size
// reports how many there were.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "cloister/core/error.h"
#include "cloister/crypto/bytes.h"

namespace cloister::attestation::dcap {

using crypto::Bytes;
using crypto::BytesView;

inline constexpr std::size_t kHeaderSize = 48;
inline constexpr std::size_t kSgxReportBodySize = 384;
inline constexpr std::size_t kTdReport10Size = 584;
inline constexpr std::size_t kTdReport15Size = 648;
inline constexpr std::size_t kReportDataSize = 64;
inline constexpr std::size_t kRawSignatureSize = 64;
inline constexpr std::size_t kAttestationKeySize = 64;
inline constexpr std::uint16_t kAttestationKeyTypeEcdsaP256 = 2;
inline constexpr std::uint32_t kTeeTypeSgx = 0x00000000;
inline constexpr std::uint32_t kTeeTypeTdx = 0x00000081;
inline constexpr std::array<std::uint8_t, 16> kIntelQeVendorId{0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                                               0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};
// Certification data types (sgx_quote_3.h).
inline constexpr std::uint16_t kCertificationPckChain = 5;  // PEM leaf ‖ PCK CA ‖ root
inline constexpr std::uint16_t kCertificationQeReport = 6;  // QE report certification data (v4/v5)
// Largest accepted input (a real quote is about 5 KiB; configfs-tsm caps outblob at 32 KiB).
inline constexpr std::size_t kMaxQuoteSize = 64 * 1024;

enum class BodyType : std::uint16_t { sgx = 1, td10 = 2, td15 = 3 };

struct QuoteHeader {
  std::uint16_t version = 0;
  std::uint16_t attestation_key_type = 0;
  std::uint32_t tee_type = 0;
  std::uint16_t qe_svn = 0;   // v3; reserved in v4/v5
  std::uint16_t pce_svn = 0;  // v3; reserved in v4/v5
  std::array<std::uint8_t, 16> qe_vendor_id{};
  std::array<std::uint8_t, 20> user_data{};
};

// sgx_report_body_t: the ISV enclave's report (SGX quotes) and the QE report (every quote).
struct SgxReportBody {
  std::array<std::uint8_t, 16> cpu_svn{};
  std::uint32_t misc_select = 0;
  std::array<std::uint8_t, 16> isv_ext_prod_id{};
  std::array<std::uint8_t, 16> attributes{};  // FLAGS (u64) ‖ XFRM (u64)
  std::array<std::uint8_t, 32> mr_enclave{};
  std::array<std::uint8_t, 32> mr_signer{};
  std::array<std::uint8_t, 64> config_id{};
  std::uint16_t isv_prod_id = 0;
  std::uint16_t isv_svn = 0;
  std::uint16_t config_svn = 0;
  std::array<std::uint8_t, 16> isv_family_id{};
  std::array<std::uint8_t, kReportDataSize> report_data{};

  std::uint64_t flags() const;
  bool debug() const { return (flags() & 0x2) != 0; }  // ATTRIBUTES.FLAGS bit 1
};

// sgx_report2_body_t (TD report 1.0) and, with the two optional fields, sgx_report2_body_v1_5_t.
struct TdReportBody {
  std::array<std::uint8_t, 16> tee_tcb_svn{};
  std::array<std::uint8_t, 48> mr_seam{};
  std::array<std::uint8_t, 48> mr_signer_seam{};
  std::array<std::uint8_t, 8> seam_attributes{};
  std::array<std::uint8_t, 8> td_attributes{};
  std::array<std::uint8_t, 8> xfam{};
  std::array<std::uint8_t, 48> mr_td{};
  std::array<std::uint8_t, 48> mr_config_id{};
  std::array<std::uint8_t, 48> mr_owner{};
  std::array<std::uint8_t, 48> mr_owner_config{};
  std::array<std::array<std::uint8_t, 48>, 4> rtmr{};
  std::array<std::uint8_t, kReportDataSize> report_data{};
  std::optional<std::array<std::uint8_t, 16>> tee_tcb_svn2;   // TD report 1.5 only
  std::optional<std::array<std::uint8_t, 48>> mr_service_td;  // TD report 1.5 only

  bool debug() const { return (td_attributes[0] & 0x1) != 0; }  // TDATTRIBUTES bit 0 (TUD.DEBUG)
};

struct Quote {
  QuoteHeader header;
  BodyType body_type = BodyType::sgx;
  std::optional<SgxReportBody> sgx_body;  // body_type sgx
  std::optional<TdReportBody> td_body;    // body_type td10 / td15
  Bytes signed_data;                      // header ‖ [v5 body descriptor ‖] body: what the quote signature covers
  std::array<std::uint8_t, kRawSignatureSize> signature{};
  std::array<std::uint8_t, kAttestationKeySize> attestation_key{};
  Bytes qe_report_raw;  // the 384 bytes the QE report signature covers
  SgxReportBody qe_report;
  std::array<std::uint8_t, kRawSignatureSize> qe_report_signature{};
  Bytes qe_auth_data;
  std::uint16_t certification_type = 0;  // the innermost type (5 for a PCK chain)
  Bytes certification_data;
  std::size_t size = 0;           // bytes the quote occupies
  std::size_t trailing_size = 0;  // ignored bytes after it

  bool is_tdx() const { return td_body.has_value(); }
  const std::array<std::uint8_t, kReportDataSize>& report_data() const;
};

// evidence_malformed for anything that is not a well-formed v3/v4/v5 quote as described above
// (unknown version, body type or tee type, inconsistent lengths, input shorter than its length
// fields say, input over kMaxQuoteSize). Checks no signature and never reads outside `bytes`.
Result<Quote> parse_quote(BytesView bytes);

// Parses a 384-byte SGX report body (evidence_malformed on any other size).
Result<SgxReportBody> parse_sgx_report_body(BytesView bytes);

}  // namespace cloister::attestation::dcap

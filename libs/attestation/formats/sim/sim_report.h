#pragma once
// The sim report: the evidence of the simulated TEE (docs/tokens.md, "The sim report").
//
// 224 bytes, integers little-endian (as SGX/TDX/SNP reports are):
//   off  size  field
//     0     4  magic "CSIM"
//     4     2  version (u16) = 1
//     6     2  flags (u16): bit 0 = debuggable; every other bit must be zero
//     8     4  product_id (u32)
//    12     4  svn (u32)
//    16    48  measurement: SHA-384 of the attester's executable file
//    64    64  report_data: SHA-256(runtime data) ‖ 32 zero bytes
//   128    32  platform_key_id: SHA-256 of the platform public key's SubjectPublicKeyInfo (DER)
//   160    64  signature: ECDSA P-256 / SHA-256 over bytes [0, 160), raw r ‖ s (32 bytes each,
//              big-endian, as JWS ES256)
// Exactly 224 bytes: shorter input and trailing bytes are both evidence_malformed.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cloister/core/error.h"
#include "cloister/crypto/bytes.h"
#include "cloister/crypto/keys.h"

namespace cloister::attestation::sim {

inline constexpr std::string_view kFormatId = "sim";
// Members of the sim format's x-cloister-format-claims.
inline constexpr std::string_view kClaimVersion = "version";
inline constexpr std::string_view kClaimPlatformKeyId = "platform_key_id";
inline constexpr std::array<std::uint8_t, 4> kMagic{'C', 'S', 'I', 'M'};
inline constexpr std::uint16_t kVersion = 1;
inline constexpr std::uint16_t kFlagDebuggable = 0x0001;
inline constexpr std::size_t kMeasurementSize = 48;
inline constexpr std::size_t kReportDataSize = 64;
inline constexpr std::size_t kPlatformKeyIdSize = 32;
inline constexpr std::size_t kSignatureSize = 64;
inline constexpr std::size_t kSignedSize = 160;  // bytes [0, 160) are signed
inline constexpr std::size_t kReportSize = kSignedSize + kSignatureSize;

// Field offsets, for tests and the docs.
inline constexpr std::size_t kMagicOffset = 0;
inline constexpr std::size_t kVersionOffset = 4;
inline constexpr std::size_t kFlagsOffset = 6;
inline constexpr std::size_t kProductIdOffset = 8;
inline constexpr std::size_t kSvnOffset = 12;
inline constexpr std::size_t kMeasurementOffset = 16;
inline constexpr std::size_t kReportDataOffset = 64;
inline constexpr std::size_t kPlatformKeyIdOffset = 128;
inline constexpr std::size_t kSignatureOffset = 160;

struct SimReport {
  std::uint16_t version = kVersion;
  bool debuggable = false;
  std::uint32_t product_id = 0;
  std::uint32_t svn = 0;
  std::array<std::uint8_t, kMeasurementSize> measurement{};
  std::array<std::uint8_t, kReportDataSize> report_data{};
  std::array<std::uint8_t, kPlatformKeyIdSize> platform_key_id{};
  std::array<std::uint8_t, kSignatureSize> signature{};
};

// The signed part, bytes [0, 160).
crypto::Bytes serialize_signed_part(const SimReport& report);
// All 224 bytes.
crypto::Bytes serialize(const SimReport& report);
// Strict: evidence_malformed unless exactly kReportSize bytes with the magic, version 1 and no
// unknown flag bits. Reads nothing outside `bytes`. Checks no signature.
Result<SimReport> parse(crypto::BytesView bytes);

// SHA-256 of the key's SubjectPublicKeyInfo DER: how a report names its platform key.
std::array<std::uint8_t, kPlatformKeyIdSize> platform_key_id(const crypto::PublicKey& key);

}  // namespace cloister::attestation::sim

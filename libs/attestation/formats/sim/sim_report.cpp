#include "formats/sim/sim_report.h"

#include <algorithm>
#include <cstring>

#include "cloister/crypto/hash.h"

namespace cloister::attestation::sim {
namespace {

void put_u16(crypto::Bytes& out, std::size_t offset, std::uint16_t value) {
  out[offset] = static_cast<std::uint8_t>(value & 0xff);
  out[offset + 1] = static_cast<std::uint8_t>(value >> 8);
}
void put_u32(crypto::Bytes& out, std::size_t offset, std::uint32_t value) {
  for (std::size_t i = 0; i < 4; ++i) out[offset + i] = static_cast<std::uint8_t>((value >> (8 * i)) & 0xff);
}
template <std::size_t N>
void put_array(crypto::Bytes& out, std::size_t offset, const std::array<std::uint8_t, N>& value) {
  std::copy(value.begin(), value.end(), out.begin() + static_cast<std::ptrdiff_t>(offset));
}

// Readers over a span whose size the caller has checked (parse checks the exact size first).
std::uint16_t get_u16(crypto::BytesView in, std::size_t offset) {
  return static_cast<std::uint16_t>(in[offset] | (in[offset + 1] << 8));
}
std::uint32_t get_u32(crypto::BytesView in, std::size_t offset) {
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < 4; ++i) value |= static_cast<std::uint32_t>(in[offset + i]) << (8 * i);
  return value;
}
template <std::size_t N>
void get_array(crypto::BytesView in, std::size_t offset, std::array<std::uint8_t, N>& value) {
  auto part = in.subspan(offset, N);
  std::copy(part.begin(), part.end(), value.begin());
}

}  // namespace

crypto::Bytes serialize_signed_part(const SimReport& report) {
  crypto::Bytes out(kSignedSize, 0);
  std::copy(kMagic.begin(), kMagic.end(), out.begin());
  put_u16(out, kVersionOffset, report.version);
  put_u16(out, kFlagsOffset, report.debuggable ? kFlagDebuggable : 0);
  put_u32(out, kProductIdOffset, report.product_id);
  put_u32(out, kSvnOffset, report.svn);
  put_array(out, kMeasurementOffset, report.measurement);
  put_array(out, kReportDataOffset, report.report_data);
  put_array(out, kPlatformKeyIdOffset, report.platform_key_id);
  return out;
}

crypto::Bytes serialize(const SimReport& report) {
  crypto::Bytes out = serialize_signed_part(report);
  out.insert(out.end(), report.signature.begin(), report.signature.end());
  return out;
}

Result<SimReport> parse(crypto::BytesView bytes) {
  if (bytes.size() < kReportSize) {
    return fail(ErrorCode::evidence_malformed, "sim report too short (" + std::to_string(bytes.size()) + " bytes)");
  }
  if (bytes.size() > kReportSize) {
    return fail(ErrorCode::evidence_malformed, "sim report has " + std::to_string(bytes.size() - kReportSize) +
                                                   " trailing bytes");
  }
  if (!std::equal(kMagic.begin(), kMagic.end(), bytes.begin())) {
    return fail(ErrorCode::evidence_malformed, "not a sim report (bad magic)");
  }
  SimReport report;
  report.version = get_u16(bytes, kVersionOffset);
  if (report.version != kVersion) {
    return fail(ErrorCode::evidence_malformed, "unsupported sim report version " + std::to_string(report.version));
  }
  const std::uint16_t flags = get_u16(bytes, kFlagsOffset);
  if ((flags & ~kFlagDebuggable) != 0) return fail(ErrorCode::evidence_malformed, "unknown sim report flags");
  report.debuggable = (flags & kFlagDebuggable) != 0;
  report.product_id = get_u32(bytes, kProductIdOffset);
  report.svn = get_u32(bytes, kSvnOffset);
  get_array(bytes, kMeasurementOffset, report.measurement);
  get_array(bytes, kReportDataOffset, report.report_data);
  get_array(bytes, kPlatformKeyIdOffset, report.platform_key_id);
  get_array(bytes, kSignatureOffset, report.signature);
  return report;
}

std::array<std::uint8_t, kPlatformKeyIdSize> platform_key_id(const crypto::PublicKey& key) {
  const crypto::Bytes digest = crypto::sha256(key.spki_der());
  std::array<std::uint8_t, kPlatformKeyIdSize> id{};
  std::copy(digest.begin(), digest.end(), id.begin());
  return id;
}

}  // namespace cloister::attestation::sim

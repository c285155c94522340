#include "formats/snp/snp_report.h"

#include <algorithm>

#include "cloister/crypto/ecdsa.h"

namespace cloister::attestation::snp {
namespace {

// Readers over a span whose size the caller has checked.
std::uint32_t get_u32(crypto::BytesView in, std::size_t offset) {
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < 4; ++i) value |= static_cast<std::uint32_t>(in[offset + i]) << (8 * i);
  return value;
}
std::uint64_t get_u64(crypto::BytesView in, std::size_t offset) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < 8; ++i) value |= static_cast<std::uint64_t>(in[offset + i]) << (8 * i);
  return value;
}
template <std::size_t N>
void get_array(crypto::BytesView in, std::size_t offset, std::array<std::uint8_t, N>& value) {
  auto part = in.subspan(offset, N);
  std::copy(part.begin(), part.end(), value.begin());
}
void put_u32(crypto::Bytes& out, std::size_t offset, std::uint32_t value) {
  for (std::size_t i = 0; i < 4; ++i) out[offset + i] = static_cast<std::uint8_t>((value >> (8 * i)) & 0xff);
}
bool all_zero(crypto::BytesView bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; });
}

Error malformed(std::string detail) { return Error{ErrorCode::evidence_malformed, std::move(detail)}; }

}  // namespace

std::string_view to_string(SigningKey key) {
  switch (key) {
    case SigningKey::vcek:
      return "vcek";
    case SigningKey::vlek:
      return "vlek";
    case SigningKey::none:
      return "none";
  }
  return "unknown";
}

std::string_view to_string(Generation generation) {
  switch (generation) {
    case Generation::milan:
      return "Milan";
    case Generation::genoa:
      return "Genoa";
    case Generation::turin:
      return "Turin";
  }
  return "unknown";
}

std::optional<Generation> generation_from_name(std::string_view name) {
  if (name == "Milan") return Generation::milan;
  if (name == "Genoa") return Generation::genoa;
  if (name == "Turin") return Generation::turin;
  return std::nullopt;
}

TcbVersion decode_tcb(std::uint64_t raw, Generation generation) {
  auto byte = [raw](int index) { return static_cast<std::uint8_t>((raw >> (8 * index)) & 0xff); };
  TcbVersion tcb;
  if (generation == Generation::turin) {
    tcb.fmc = byte(0);
    tcb.bootloader = byte(1);
    tcb.tee = byte(2);
    tcb.snp = byte(3);
  } else {
    tcb.bootloader = byte(0);
    tcb.tee = byte(1);
    tcb.snp = byte(6);
  }
  tcb.microcode = byte(7);
  return tcb;
}

std::uint64_t encode_tcb(const TcbVersion& tcb, Generation generation) {
  auto at = [](std::uint8_t value, int index) { return static_cast<std::uint64_t>(value) << (8 * index); };
  if (generation == Generation::turin) {
    return at(tcb.fmc.value_or(0), 0) | at(tcb.bootloader, 1) | at(tcb.tee, 2) | at(tcb.snp, 3) | at(tcb.microcode, 7);
  }
  return at(tcb.bootloader, 0) | at(tcb.tee, 1) | at(tcb.snp, 6) | at(tcb.microcode, 7);
}

bool SnpReport::chip_id_masked() const { return all_zero(chip_id); }

Result<SnpReport> parse_report(crypto::BytesView bytes) {
  if (bytes.size() != kReportSize) {
    return std::unexpected(malformed("an SNP report is " + std::to_string(kReportSize) + " bytes, got " +
                                     std::to_string(bytes.size())));
  }
  SnpReport report;
  report.version = get_u32(bytes, kVersionOffset);
  if (report.version < kMinVersion || report.version > kMaxVersion) {
    return std::unexpected(malformed("unsupported SNP report version " + std::to_string(report.version)));
  }
  report.guest_svn = get_u32(bytes, kGuestSvnOffset);
  report.policy = get_u64(bytes, kPolicyOffset);
  get_array(bytes, kFamilyIdOffset, report.family_id);
  get_array(bytes, kImageIdOffset, report.image_id);
  report.vmpl = get_u32(bytes, kVmplOffset);
  if (report.vmpl > 3) return std::unexpected(malformed("VMPL " + std::to_string(report.vmpl) + " is not 0..3"));
  report.signature_algo = get_u32(bytes, kSignatureAlgoOffset);
  if (report.signature_algo != kSignatureAlgoEcdsaP384Sha384) {
    return std::unexpected(malformed("unsupported signature algorithm " + std::to_string(report.signature_algo)));
  }
  report.current_tcb = get_u64(bytes, kCurrentTcbOffset);
  report.platform_info = get_u64(bytes, kPlatformInfoOffset);
  report.signer_info = get_u32(bytes, kSignerInfoOffset);
  if ((report.signer_info >> 5) != 0) return std::unexpected(malformed("signer-info bits 31:5 must be zero"));
  const auto key = report.signing_key();
  if (key != SigningKey::vcek && key != SigningKey::vlek && key != SigningKey::none) {
    return std::unexpected(malformed("unknown SIGNING_KEY " + std::to_string(static_cast<int>(key))));
  }
  if (get_u32(bytes, kReserved0Offset) != 0) return std::unexpected(malformed("reserved word at 0x04C is not zero"));
  get_array(bytes, kReportDataOffset, report.report_data);
  get_array(bytes, kMeasurementOffset, report.measurement);
  get_array(bytes, kHostDataOffset, report.host_data);
  get_array(bytes, kIdKeyDigestOffset, report.id_key_digest);
  get_array(bytes, kAuthorKeyDigestOffset, report.author_key_digest);
  get_array(bytes, kReportIdOffset, report.report_id);
  get_array(bytes, kReportIdMaOffset, report.report_id_ma);
  report.reported_tcb = get_u64(bytes, kReportedTcbOffset);
  if (report.version >= 3) {
    report.cpuid_family = bytes[kCpuidOffset];
    report.cpuid_model = bytes[kCpuidOffset + 1];
    report.cpuid_stepping = bytes[kCpuidOffset + 2];
  }
  get_array(bytes, kChipIdOffset, report.chip_id);
  report.committed_tcb = get_u64(bytes, kCommittedTcbOffset);
  report.launch_tcb = get_u64(bytes, kLaunchTcbOffset);

  // The signature field: R and S little-endian in 72 bytes each, of which P-384 uses the low 48.
  const auto r = bytes.subspan(kSignatureROffset, kSignatureComponentSize);
  const auto s = bytes.subspan(kSignatureSOffset, kSignatureComponentSize);
  if (!all_zero(r.subspan(kP384ComponentSize)) || !all_zero(s.subspan(kP384ComponentSize))) {
    return std::unexpected(malformed("the signature components exceed 48 bytes"));
  }
  if (!all_zero(bytes.subspan(kSignatureReservedOffset))) {
    return std::unexpected(malformed("the reserved part of the signature field is not zero"));
  }
  std::reverse_copy(r.begin(), r.begin() + kP384ComponentSize, report.signature_r.begin());
  std::reverse_copy(s.begin(), s.begin() + kP384ComponentSize, report.signature_s.begin());
  return report;
}

Result<crypto::Bytes> signature_der(const SnpReport& report) {
  crypto::Bytes raw(report.signature_r.begin(), report.signature_r.end());
  raw.insert(raw.end(), report.signature_s.begin(), report.signature_s.end());
  auto der = crypto::ecdsa_raw_to_der(raw);
  if (!der) return fail(ErrorCode::evidence_signature_invalid, "the SNP report signature is malformed");
  return der;
}

Result<std::vector<CertTableEntry>> parse_cert_table(crypto::BytesView table) {
  constexpr std::size_t kMaxEntries = 64;
  if (table.size() > kMaxCertTableSize) {
    return std::unexpected(malformed("the certificate table exceeds " + std::to_string(kMaxCertTableSize) + " bytes"));
  }
  std::vector<bool> covered(table.size(), false);
  std::vector<std::pair<Guid, std::pair<std::uint32_t, std::uint32_t>>> entries;
  std::size_t position = 0;
  bool terminated = false;
  while (position + kCertTableEntrySize <= table.size()) {
    const auto entry = table.subspan(position, kCertTableEntrySize);
    std::fill(covered.begin() + static_cast<std::ptrdiff_t>(position),
              covered.begin() + static_cast<std::ptrdiff_t>(position + kCertTableEntrySize), true);
    position += kCertTableEntrySize;
    if (all_zero(entry)) {
      terminated = true;
      break;
    }
    if (entries.size() == kMaxEntries) return std::unexpected(malformed("the certificate table has too many entries"));
    Guid guid{};
    get_array(entry, 0, guid);
    if (all_zero(guid)) return std::unexpected(malformed("a certificate table entry has a zero GUID"));
    for (const auto& existing : entries) {
      if (existing.first == guid) return std::unexpected(malformed("a GUID appears twice in the certificate table"));
    }
    entries.push_back({guid, {get_u32(entry, 16), get_u32(entry, 20)}});
  }
  if (!terminated) return std::unexpected(malformed("the certificate table has no terminating entry"));

  std::vector<CertTableEntry> out;
  out.reserve(entries.size());
  for (const auto& [guid, range] : entries) {
    const auto [offset, length] = range;
    if (length == 0) return std::unexpected(malformed("a certificate table entry has length 0"));
    // 64-bit arithmetic: offset + length cannot wrap.
    const std::uint64_t end = static_cast<std::uint64_t>(offset) + length;
    if (offset < position || end > table.size()) {
      return std::unexpected(malformed("a certificate lies outside the certificate table"));
    }
    for (std::uint64_t i = offset; i < end; ++i) {
      if (covered[static_cast<std::size_t>(i)]) return std::unexpected(malformed("certificates overlap in the table"));
      covered[static_cast<std::size_t>(i)] = true;
    }
    auto der = table.subspan(offset, length);
    out.push_back(CertTableEntry{guid, crypto::Bytes(der.begin(), der.end())});
  }
  for (std::size_t i = 0; i < table.size(); ++i) {
    if (!covered[i] && table[i] != 0) {
      return std::unexpected(malformed("non-zero bytes outside the certificates of the table (offset " +
                                       std::to_string(i) + ")"));
    }
  }
  return out;
}

crypto::Bytes serialize_cert_table(const std::vector<CertTableEntry>& entries) {
  const std::size_t header = (entries.size() + 1) * kCertTableEntrySize;
  std::size_t total = header;
  for (const auto& entry : entries) total += entry.der.size();
  crypto::Bytes out(total, 0);
  std::size_t offset = header;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const std::size_t at = i * kCertTableEntrySize;
    std::copy(entries[i].guid.begin(), entries[i].guid.end(), out.begin() + static_cast<std::ptrdiff_t>(at));
    put_u32(out, at + 16, static_cast<std::uint32_t>(offset));
    put_u32(out, at + 20, static_cast<std::uint32_t>(entries[i].der.size()));
    std::copy(entries[i].der.begin(), entries[i].der.end(), out.begin() + static_cast<std::ptrdiff_t>(offset));
    offset += entries[i].der.size();
  }
  return out;
}

const crypto::Bytes* SnpEvidence::certificate(const Guid& guid) const {
  for (const auto& entry : certificates) {
    if (entry.guid == guid) return &entry.der;
  }
  return nullptr;
}

Result<SnpEvidence> parse_evidence(crypto::BytesView bytes) {
  if (bytes.size() < kReportSize) {
    return std::unexpected(malformed("an SNP report is " + std::to_string(kReportSize) + " bytes, got " +
                                     std::to_string(bytes.size())));
  }
  auto report = parse_report(bytes.first(kReportSize));
  if (!report) return std::unexpected(report.error());
  SnpEvidence evidence{std::move(*report), {}};
  if (bytes.size() > kReportSize) {
    auto table = parse_cert_table(bytes.subspan(kReportSize));
    if (!table) return std::unexpected(table.error());
    evidence.certificates = std::move(*table);
  }
  return evidence;
}

}  // namespace cloister::attestation::snp

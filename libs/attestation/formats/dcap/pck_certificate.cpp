#include "formats/dcap/pck_certificate.h"

#include <algorithm>

#include "formats/dcap/dcap_util.h"

namespace cloister::attestation::dcap {
namespace {

using crypto::Bytes;
using crypto::BytesView;

constexpr std::uint8_t kTagInteger = 0x02;
constexpr std::uint8_t kTagOctetString = 0x04;
constexpr std::uint8_t kTagOid = 0x06;
constexpr std::uint8_t kTagEnumerated = 0x0a;
constexpr std::uint8_t kTagSequence = 0x30;
// 1.2.840.113741.1.13.1 as DER OID content octets; members append one more arc (and the TCB
// components a second one).
constexpr std::array<std::uint8_t, 9> kSgxOidPrefix{0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01};

Result<PckExtensions> malformed(std::string_view what) {
  return fail(ErrorCode::evidence_malformed, "PCK certificate SGX extension: " + std::string(what));
}

struct Element {
  std::uint8_t tag = 0;
  BytesView content;
};

// A DER reader over one level of TLVs (single-byte tags, definite lengths up to 4 bytes).
class DerReader {
 public:
  explicit DerReader(BytesView data) : data_(data) {}
  bool at_end() const { return position_ == data_.size(); }
  std::optional<Element> next() {
    if (data_.size() - position_ < 2) return std::nullopt;
    const std::uint8_t tag = data_[position_];
    if ((tag & 0x1f) == 0x1f) return std::nullopt;  // multi-byte tags do not occur here
    std::size_t length = data_[position_ + 1];
    std::size_t header = 2;
    if (length & 0x80) {
      const std::size_t count = length & 0x7f;
      if (count == 0 || count > 4 || data_.size() - position_ - 2 < count) return std::nullopt;
      length = 0;
      for (std::size_t i = 0; i < count; ++i) length = (length << 8) | data_[position_ + 2 + i];
      header += count;
    }
    if (data_.size() - position_ - header < length) return std::nullopt;
    Element element{tag, data_.subspan(position_ + header, length)};
    position_ += header + length;
    return element;
  }

 private:
  BytesView data_;
  std::size_t position_ = 0;
};

// A non-negative INTEGER / ENUMERATED of at most 4 content bytes.
std::optional<std::uint32_t> small_unsigned(const Element& element) {
  if (element.content.empty() || element.content.size() > 5 || (element.content[0] & 0x80)) return std::nullopt;
  std::uint64_t value = 0;
  for (auto byte : element.content) value = (value << 8) | byte;
  if (value > 0xffffffffu) return std::nullopt;
  return static_cast<std::uint32_t>(value);
}

// The arc after the SGX prefix (and after `parent` when given), or nullopt for another OID.
std::optional<std::uint8_t> member_arc(BytesView oid, std::optional<std::uint8_t> parent) {
  const std::size_t expected = kSgxOidPrefix.size() + (parent ? 2 : 1);
  if (oid.size() != expected || !std::equal(kSgxOidPrefix.begin(), kSgxOidPrefix.end(), oid.begin())) {
    return std::nullopt;
  }
  if (parent && oid[kSgxOidPrefix.size()] != *parent) return std::nullopt;
  const std::uint8_t arc = oid.back();
  if (arc & 0x80) return std::nullopt;
  return arc;
}

template <std::size_t N>
bool octets(const Element& element, std::array<std::uint8_t, N>& out) {
  if (element.tag != kTagOctetString || element.content.size() != N) return false;
  std::copy(element.content.begin(), element.content.end(), out.begin());
  return true;
}

Status parse_tcb(BytesView sequence, PckExtensions& out) {
  DerReader reader(sequence);
  std::array<bool, 19> seen{};
  while (!reader.at_end()) {
    auto pair = reader.next();
    if (!pair || pair->tag != kTagSequence) return std::unexpected(malformed("bad TCB member").error());
    DerReader fields(pair->content);
    auto oid = fields.next();
    auto value = fields.next();
    if (!oid || !value || oid->tag != kTagOid || !fields.at_end()) {
      return std::unexpected(malformed("bad TCB member").error());
    }
    auto arc = member_arc(oid->content, 2);
    if (!arc) continue;  // not ours
    if (*arc >= 1 && *arc <= 16) {
      auto svn = small_unsigned(*value);
      if (value->tag != kTagInteger || !svn || *svn > 255)
        return std::unexpected(malformed("bad TCB component").error());
      out.tcb_components[*arc - 1] = static_cast<std::uint8_t>(*svn);
    } else if (*arc == 17) {
      auto svn = small_unsigned(*value);
      if (value->tag != kTagInteger || !svn || *svn > 0xffff) return std::unexpected(malformed("bad PCESVN").error());
      out.pce_svn = static_cast<std::uint16_t>(*svn);
    } else if (*arc == 18) {
      if (!octets(*value, out.cpu_svn)) return std::unexpected(malformed("bad CPUSVN").error());
    } else {
      continue;
    }
    if (seen[*arc]) return std::unexpected(malformed("a TCB member appears twice").error());
    seen[*arc] = true;
  }
  for (std::size_t arc = 1; arc <= 18; ++arc) {
    if (!seen[arc]) return std::unexpected(malformed("TCB member " + std::to_string(arc) + " missing").error());
  }
  return {};
}

}  // namespace

Result<PckExtensions> parse_pck_extensions(BytesView der) {
  DerReader outer(der);
  auto top = outer.next();
  if (!top || top->tag != kTagSequence || !outer.at_end()) return malformed("not a DER SEQUENCE");
  PckExtensions out;
  std::array<bool, 8> seen{};
  DerReader members(top->content);
  while (!members.at_end()) {
    auto pair = members.next();
    if (!pair || pair->tag != kTagSequence) return malformed("bad member");
    DerReader fields(pair->content);
    auto oid = fields.next();
    auto value = fields.next();
    if (!oid || !value || oid->tag != kTagOid || !fields.at_end()) return malformed("bad member");
    auto arc = member_arc(oid->content, std::nullopt);
    if (!arc || *arc == 0 || *arc > 7) continue;  // unknown members are skipped
    if (seen[*arc]) return malformed("a member appears twice");
    seen[*arc] = true;
    switch (*arc) {
      case 1:
        if (value->tag != kTagOctetString || value->content.size() != 16) return malformed("bad PPID");
        out.ppid.assign(value->content.begin(), value->content.end());
        break;
      case 2:
        if (value->tag != kTagSequence) return malformed("bad TCB");
        if (auto tcb = parse_tcb(value->content, out); !tcb) return std::unexpected(tcb.error());
        break;
      case 3:
        if (!octets(*value, out.pce_id)) return malformed("bad PCE-ID");
        break;
      case 4:
        if (!octets(*value, out.fmspc)) return malformed("bad FMSPC");
        break;
      case 5: {
        auto type = small_unsigned(*value);
        if (value->tag != kTagEnumerated || !type || *type > 255) return malformed("bad SGX type");
        out.sgx_type = static_cast<int>(*type);
        break;
      }
      default:
        break;  // .6 PlatformInstanceID, .7 Configuration: not used
    }
  }
  if (!seen[1] || !seen[2] || !seen[3] || !seen[4]) return malformed("PPID, TCB, PCE-ID or FMSPC missing");
  return out;
}

Result<PckExtensions> pck_extensions(const crypto::Certificate& leaf) {
  auto der = leaf.extension_der(kSgxExtensionsOid);
  if (!der) return malformed("absent from the PCK certificate");
  return parse_pck_extensions(*der);
}

std::string_view to_string(PckCa ca) { return ca == PckCa::platform ? "platform" : "processor"; }

std::optional<PckCa> pck_ca_of(const crypto::Certificate& leaf) {
  const std::string issuer = leaf.issuer();
  if (issuer.find("SGX PCK Platform CA") != std::string::npos) return PckCa::platform;
  if (issuer.find("SGX PCK Processor CA") != std::string::npos) return PckCa::processor;
  return std::nullopt;
}

bool is_self_issued(const crypto::Certificate& certificate) { return certificate.subject() == certificate.issuer(); }

Result<PckChain> parse_quote_pck_chain(BytesView certification_data) {
  std::string text(certification_data.begin(), certification_data.end());
  if (!text.empty() && text.back() == '\0') text.pop_back();
  if (text.find('\0') != std::string::npos) {
    return fail(ErrorCode::evidence_malformed, "the PCK certificate chain holds a NUL byte before its end");
  }
  auto chain = crypto::Certificate::chain_from_pem(text);
  if (!chain) return fail(ErrorCode::evidence_malformed, "PCK certificate chain: " + chain.error().detail);
  if (chain->size() != 3) {
    return fail(ErrorCode::evidence_malformed,
                "the PCK certificate chain holds " + std::to_string(chain->size()) + " certificates (expected 3)");
  }
  std::string canonical;
  for (const auto& certificate : *chain) canonical += certificate.pem();
  if (canonical != text) {
    return fail(ErrorCode::evidence_malformed, "the PCK certificate chain is not canonical PEM");
  }
  return PckChain{(*chain)[0], (*chain)[1], (*chain)[2]};
}

Result<PckChain> parse_collateral_pck_chain(std::string_view pem) {
  auto chain = crypto::Certificate::chain_from_pem(pem);
  if (!chain) return fail(ErrorCode::bad_encoding, "pck_certificate_chain: " + chain.error().detail);
  std::optional<crypto::Certificate> leaf;
  std::optional<crypto::Certificate> root;
  for (const auto& certificate : *chain) {
    if (is_self_issued(certificate)) {
      root = certificate;
    } else if (!certificate.is_ca()) {
      if (leaf) return fail(ErrorCode::bad_encoding, "pck_certificate_chain holds two leaf certificates");
      leaf = certificate;
    }
  }
  if (!leaf) return fail(ErrorCode::bad_encoding, "pck_certificate_chain holds no PCK certificate");
  for (const auto& certificate : *chain) {
    if (certificate.is_ca() && !is_self_issued(certificate) && certificate.subject() == leaf->issuer()) {
      return PckChain{*leaf, certificate, root};
    }
  }
  return fail(ErrorCode::bad_encoding, "pck_certificate_chain holds no issuer of the PCK certificate");
}

}  // namespace cloister::attestation::dcap

#include "formats/snp/snp_certs.h"

#include <stdexcept>

namespace cloister::attestation::snp {
namespace {

Error parse_error(std::string detail) { return Error{ErrorCode::cert_parse_failed, std::move(detail)}; }

// One DER TLV with a short- or one/two-byte long-form length that spans `value` exactly.
std::optional<crypto::BytesView> der_content(crypto::BytesView value, std::uint8_t tag) {
  if (value.size() < 2 || value[0] != tag) return std::nullopt;
  std::size_t length = value[1];
  std::size_t header = 2;
  if (length == 0x81) {
    if (value.size() < 3 || value[2] < 0x80) return std::nullopt;
    length = value[2];
    header = 3;
  } else if (length == 0x82) {
    if (value.size() < 4 || value[2] == 0) return std::nullopt;
    length = (static_cast<std::size_t>(value[2]) << 8) | value[3];
    if (length < 0x100) return std::nullopt;
    header = 4;
  } else if (length > 0x7f) {
    return std::nullopt;
  }
  if (value.size() != header + length) return std::nullopt;
  return value.subspan(header);
}

}  // namespace

const std::vector<crypto::Certificate>& default_arks() {
  static const std::vector<crypto::Certificate> arks = [] {
    std::vector<crypto::Certificate> out;
    for (std::string_view pem : {kArkMilanPem, kArkGenoaPem, kArkTurinPem}) {
      auto certificate = crypto::Certificate::from_pem(pem);
      if (!certificate) throw std::logic_error("compiled-in AMD ARK does not parse: " + certificate.error().to_string());
      out.push_back(std::move(*certificate));
    }
    return out;
  }();
  return arks;
}

std::string common_name(std::string_view name) {
  // RFC 2253: attributes separated by unescaped ','; a backslash escapes the next character.
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t end = start;
    while (end < name.size() && name[end] != ',') end += name[end] == '\\' ? 2 : 1;
    end = std::min(end, name.size());
    const std::string_view part = name.substr(start, end - start);
    if (part.starts_with("CN=")) {
      std::string value;
      for (std::size_t i = 3; i < part.size(); ++i) {
        if (part[i] == '\\' && i + 1 < part.size()) ++i;
        value.push_back(part[i]);
      }
      return value;
    }
    start = end + 1;
  }
  return {};
}

Result<std::uint8_t> decode_spl(crypto::BytesView value) {
  auto content = der_content(value, 0x02);
  if (!content || content->empty() || content->size() > 2) {
    return std::unexpected(parse_error("an SPL extension is not a DER INTEGER of 1 or 2 bytes"));
  }
  if ((*content)[0] & 0x80) return std::unexpected(parse_error("an SPL extension is negative"));
  if (content->size() == 2) {
    // Minimal encoding: a leading zero only before a byte with its top bit set.
    if ((*content)[0] != 0 || !((*content)[1] & 0x80)) {
      return std::unexpected(parse_error("an SPL extension is not a minimally encoded value 0..255"));
    }
    return (*content)[1];
  }
  return (*content)[0];
}

Result<std::string> decode_product_name(crypto::BytesView value) {
  auto content = der_content(value, 0x16);  // IA5String
  if (!content || content->empty()) return std::unexpected(parse_error("the productName extension is not an IA5String"));
  std::string name;
  for (std::uint8_t c : *content) {
    if (c < 0x20 || c > 0x7e) return std::unexpected(parse_error("the productName extension is not printable"));
    name.push_back(static_cast<char>(c));
  }
  return name;
}

Result<crypto::Bytes> decode_hw_id(crypto::BytesView value) {
  auto is_hw_id_size = [](std::size_t size) { return size == kChipIdSize || size == 8; };
  if (is_hw_id_size(value.size())) return crypto::Bytes(value.begin(), value.end());
  if (auto content = der_content(value, 0x04); content && is_hw_id_size(content->size())) {
    return crypto::Bytes(content->begin(), content->end());
  }
  return std::unexpected(parse_error("the hwID extension is neither 64 nor 8 bytes, raw or as an OCTET STRING"));
}

Result<SigningKeyCertificate> read_signing_key_certificate(const crypto::Certificate& certificate) {
  SigningKeyCertificate out{certificate};
  const std::string subject = common_name(certificate.subject());
  const std::string issuer = common_name(certificate.issuer());
  if (subject == "SEV-VCEK") {
    out.kind = SigningKey::vcek;
  } else if (subject == "SEV-VLEK") {
    out.kind = SigningKey::vlek;
  } else {
    return std::unexpected(parse_error("not a VCEK or VLEK certificate (subject CN \"" + subject.substr(0, 32) + "\")"));
  }
  const std::string_view prefix = out.kind == SigningKey::vlek ? "SEV-VLEK-" : "SEV-";
  auto generation = issuer.starts_with(prefix) ? generation_from_name(std::string_view(issuer).substr(prefix.size()))
                                               : std::nullopt;
  if (!generation) {
    return std::unexpected(parse_error("the " + std::string(to_string(out.kind)) + " issuer \"" + issuer.substr(0, 32) +
                                       "\" names no known AMD product"));
  }
  out.generation = *generation;
  if (certificate.public_key().try_type() != crypto::KeyType::ec_p384) {
    return std::unexpected(parse_error("the " + std::string(to_string(out.kind)) + " key is not ECDSA P-384"));
  }

  auto product = certificate.extension_der(kOidProductName);
  if (!product) return std::unexpected(parse_error("the certificate lacks the productName extension"));
  auto name = decode_product_name(*product);
  if (!name) return std::unexpected(name.error());
  out.product_name = *name;
  // "Milan-B0", "Genoa", "Turin": a product name naming another known product contradicts the issuer
  // (names of products we do not know, e.g. a future stepping scheme, are recorded, not judged).
  const std::string_view family = std::string_view(out.product_name).substr(0, out.product_name.find('-'));
  if (auto named = generation_from_name(family); named && *named != out.generation) {
    return std::unexpected(parse_error("productName \"" + out.product_name + "\" does not match the issuer " + issuer));
  }

  auto spl = [&](std::string_view oid, std::string_view what) -> Result<std::uint8_t> {
    auto value = certificate.extension_der(oid);
    if (!value) return std::unexpected(parse_error("the certificate lacks the " + std::string(what) + " extension"));
    return decode_spl(*value);
  };
  auto bootloader = spl(kOidBootloaderSpl, "blSPL");
  if (!bootloader) return std::unexpected(bootloader.error());
  auto tee = spl(kOidTeeSpl, "teeSPL");
  if (!tee) return std::unexpected(tee.error());
  auto snp = spl(kOidSnpSpl, "snpSPL");
  if (!snp) return std::unexpected(snp.error());
  auto microcode = spl(kOidMicrocodeSpl, "ucodeSPL");
  if (!microcode) return std::unexpected(microcode.error());
  out.tcb = TcbVersion{*bootloader, *tee, *snp, *microcode, std::nullopt};
  if (out.generation == Generation::turin) {
    auto fmc = spl(kOidFmcSpl, "fmcSPL");
    if (!fmc) return std::unexpected(fmc.error());
    out.tcb.fmc = *fmc;
  }

  if (auto hw_id = certificate.extension_der(kOidHwId)) {
    auto decoded = decode_hw_id(*hw_id);
    if (!decoded) return std::unexpected(decoded.error());
    out.hw_id = std::move(*decoded);
  } else if (out.kind == SigningKey::vcek) {
    return std::unexpected(parse_error("the VCEK lacks the hwID extension"));
  }
  return out;
}

}  // namespace cloister::attestation::snp

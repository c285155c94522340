#include "formats/snp/snp_collateral.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <system_error>

#include "cloister/crypto/base64.h"
#include "cloister/crypto/hash.h"
#include "cloister/core/private_files.h"
#include "formats/snp/snp_certs.h"
#include "formats/snp/snp_report.h"

namespace cloister::attestation::snp {
namespace {

constexpr std::size_t kMaxCollateralFileSize = 1024 * 1024;
constexpr std::string_view kPemCertificate = "-----BEGIN CERTIFICATE-----";
constexpr std::string_view kPemCrl = "-----BEGIN X509 CRL-----";

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\n' || text.front() == '\r' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\n' || text.back() == '\r' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

Result<std::string_view> string_member(const nlohmann::json& value, std::string_view name) {
  if (!value.is_string()) return fail(ErrorCode::bad_encoding, "collateral \"" + std::string(name) + "\" is not a string");
  return std::string_view(value.get_ref<const std::string&>());
}

// PEM, or base64 of the DER.
Result<crypto::Certificate> certificate_member(const nlohmann::json& value, std::string_view name) {
  auto text = string_member(value, name);
  if (!text) return std::unexpected(text.error());
  Result<crypto::Certificate> certificate = std::unexpected(Error{});
  if (text->find(kPemCertificate) != std::string_view::npos) {
    certificate = crypto::Certificate::from_pem(*text);
  } else {
    auto der = crypto::base64_decode(trim(*text));
    if (!der) return fail(ErrorCode::bad_encoding, "collateral \"" + std::string(name) + "\" is neither PEM nor base64");
    certificate = crypto::Certificate::from_der(*der);
  }
  if (!certificate) return fail(certificate.error().code, "collateral \"" + std::string(name) + "\": " + certificate.error().detail);
  return certificate;
}

Result<crypto::Crl> crl_member(const nlohmann::json& value) {
  auto text = string_member(value, kCollateralCrl);
  if (!text) return std::unexpected(text.error());
  Result<crypto::Crl> crl = std::unexpected(Error{});
  if (text->find(kPemCrl) != std::string_view::npos) {
    crl = crypto::Crl::from_pem(*text);
  } else {
    auto der = crypto::base64_decode(trim(*text));
    if (!der) return fail(ErrorCode::bad_encoding, "collateral \"crl\" is neither PEM nor base64");
    crl = crypto::Crl::from_der(*der);
  }
  if (!crl) return fail(crl.error().code, "collateral \"crl\": " + crl.error().detail);
  return crl;
}

// What files and the store contribute, before it becomes Collateral::documents.
struct Found {
  std::optional<crypto::Certificate> vcek;
  std::optional<crypto::Certificate> vlek;
  std::vector<crypto::Certificate> chain;
  std::optional<crypto::Crl> crl;

  Status add(const crypto::Certificate& certificate, const std::string& where) {
    const std::string name = common_name(certificate.subject());
    std::optional<crypto::Certificate>* slot = name == "SEV-VCEK" ? &vcek : name == "SEV-VLEK" ? &vlek : nullptr;
    if (slot == nullptr) {
      if (std::find(chain.begin(), chain.end(), certificate) == chain.end()) chain.push_back(certificate);
      return {};
    }
    if (*slot && !(**slot == certificate)) {
      return fail(ErrorCode::invalid_argument, "more than one " + name + " certificate (" + where + ")");
    }
    *slot = certificate;
    return {};
  }
  Status add(const crypto::Crl& new_crl, const std::string& where) {
    if (crl && crl->der() != new_crl.der()) return fail(ErrorCode::invalid_argument, "more than one CRL (" + where + ")");
    crl = new_crl;
    return {};
  }

  Collateral documents() const {
    Collateral out;
    if (vcek) out.documents[std::string(kCollateralVcek)] = vcek->pem();
    if (vlek) out.documents[std::string(kCollateralVlek)] = vlek->pem();
    if (!chain.empty()) {
      std::string pem;
      for (const auto& certificate : chain) pem += certificate.pem();
      out.documents[std::string(kCollateralCertChain)] = pem;
    }
    if (crl) out.documents[std::string(kCollateralCrl)] = crypto::base64_encode(crl->der());
    return out;
  }
};

// Adds what the file holds. `named`: the caller named this file (so holding nothing is an error).
Status add_file(const std::filesystem::path& path, bool named, Found& found) {
  auto content = read_file(path, kMaxCollateralFileSize);
  if (!content) return std::unexpected(content.error());
  const std::string where = path.string();
  const bool pem_certificates = content->find(kPemCertificate) != std::string::npos;
  const bool pem_crl = content->find(kPemCrl) != std::string::npos;
  if (pem_certificates || pem_crl) {
    if (pem_certificates) {
      auto chain = crypto::Certificate::chain_from_pem(*content);
      if (!chain) return fail(chain.error().code, where + ": " + chain.error().detail);
      for (const auto& certificate : *chain) {
        if (auto added = found.add(certificate, where); !added) return added;
      }
    }
    if (pem_crl) {
      auto crl = crypto::Crl::from_pem(*content);
      if (!crl) return fail(crl.error().code, where + ": " + crl.error().detail);
      if (auto added = found.add(*crl, where); !added) return added;
    }
    return {};
  }
  const auto der = crypto::as_bytes(*content);
  if (auto certificate = crypto::Certificate::from_der(der)) return found.add(*certificate, where);
  if (auto crl = crypto::Crl::from_der(der)) return found.add(*crl, where);
  if (named) return fail(ErrorCode::bad_encoding, where + " holds no certificate or CRL (PEM or DER)");
  return {};
}

std::string tcb_hex(std::uint64_t tcb) {
  char text[17];
  std::snprintf(text, sizeof text, "%016" PRIx64, tcb);
  return text;
}

// The first of `candidates` that is a regular file, or nullopt.
std::optional<std::filesystem::path> first_file(const std::vector<std::filesystem::path>& candidates) {
  for (const auto& candidate : candidates) {
    std::error_code error;
    if (std::filesystem::is_regular_file(candidate, error)) return candidate;
  }
  return std::nullopt;
}

}  // namespace

Result<SnpCollateral> read_collateral(const Collateral& collateral) {
  SnpCollateral out;
  const auto& documents = collateral.documents;
  if (!documents.is_object()) return fail(ErrorCode::bad_encoding, "snp collateral is not a JSON object");
  if (auto it = documents.find(kCollateralVcek); it != documents.end()) {
    auto certificate = certificate_member(*it, kCollateralVcek);
    if (!certificate) return std::unexpected(certificate.error());
    out.vcek = std::move(*certificate);
  }
  if (auto it = documents.find(kCollateralVlek); it != documents.end()) {
    auto certificate = certificate_member(*it, kCollateralVlek);
    if (!certificate) return std::unexpected(certificate.error());
    out.vlek = std::move(*certificate);
  }
  if (auto it = documents.find(kCollateralCertChain); it != documents.end()) {
    auto text = string_member(*it, kCollateralCertChain);
    if (!text) return std::unexpected(text.error());
    auto chain = crypto::Certificate::chain_from_pem(*text);
    if (!chain) return fail(chain.error().code, "collateral \"cert_chain\": " + chain.error().detail);
    out.cert_chain = std::move(*chain);
  }
  if (auto it = documents.find(kCollateralCrl); it != documents.end()) {
    auto crl = crl_member(*it);
    if (!crl) return std::unexpected(crl.error());
    out.crl = std::move(*crl);
  }
  return out;
}

Result<Collateral> load_collateral_files(const std::vector<std::filesystem::path>& paths) {
  Found found;
  for (const auto& path : paths) {
    std::error_code error;
    if (std::filesystem::is_directory(path, error)) {
      std::vector<std::filesystem::path> files;
      for (const auto& entry : std::filesystem::directory_iterator(path, error)) {
        std::error_code type_error;
        if (entry.is_regular_file(type_error)) files.push_back(entry.path());
      }
      if (error) return fail(ErrorCode::io_error, "cannot list " + path.string() + ": " + error.message());
      std::sort(files.begin(), files.end());
      for (const auto& file : files) {
        if (auto added = add_file(file, false, found); !added) return std::unexpected(added.error());
      }
    } else {
      if (auto added = add_file(path, true, found); !added) return std::unexpected(added.error());
    }
  }
  if (!found.vcek && !found.vlek && found.chain.empty() && !found.crl) {
    return fail(ErrorCode::collateral_missing, "no SEV-SNP certificate or CRL in the collateral files");
  }
  return found.documents();
}

Result<Collateral> load_collateral_store(const std::filesystem::path& store, crypto::BytesView evidence) {
  auto parsed = parse_evidence(evidence);
  if (!parsed) return std::unexpected(parsed.error());
  const SnpReport& report = parsed->report;
  const SigningKey kind = report.signing_key();
  if (kind == SigningKey::none) return fail(ErrorCode::evidence_signature_invalid, "the SNP report is not signed");
  const std::filesystem::path root = store / "snp";
  const std::string tcb = tcb_hex(report.reported_tcb);

  std::vector<std::filesystem::path> candidates;
  if (kind == SigningKey::vcek && !report.chip_id_masked()) {
    // Milan/Genoa KDS names the chip by all 64 bytes, Turin by the first 8.
    for (std::size_t size : {kChipIdSize, std::size_t{8}}) {
      const auto directory = root / "vcek" / crypto::hex_encode(crypto::BytesView(report.chip_id).first(size));
      candidates.push_back(directory / (tcb + ".der"));
      candidates.push_back(directory / (tcb + ".pem"));
    }
  } else if (kind == SigningKey::vlek) {
    candidates.push_back(root / "vlek" / (tcb + ".der"));
    candidates.push_back(root / "vlek" / (tcb + ".pem"));
  }
  Found found;
  if (auto file = first_file(candidates)) {
    if (auto added = add_file(*file, true, found); !added) return std::unexpected(added.error());
  }
  std::optional<crypto::Certificate> leaf = kind == SigningKey::vlek ? found.vlek : found.vcek;
  if (!leaf) {
    if (const auto* der = parsed->certificate(kind == SigningKey::vlek ? kGuidVlek : kGuidVcek)) {
      auto certificate = crypto::Certificate::from_der(*der);
      if (!certificate) return fail(ErrorCode::evidence_malformed, "the evidence's " + std::string(to_string(kind)) +
                                                                       " certificate: " + certificate.error().detail);
      leaf = std::move(*certificate);
    }
  }
  if (!leaf) {
    return fail(ErrorCode::collateral_missing, "the collateral store holds no " + std::string(to_string(kind)) +
                                                   " for this chip and reported TCB " + tcb);
  }
  auto endorsed = read_signing_key_certificate(*leaf);
  if (!endorsed) return std::unexpected(endorsed.error());

  const auto product = root / std::string(to_string(endorsed->generation));
  const std::string prefix(to_string(kind));
  if (auto chain = first_file({product / (prefix + "_cert_chain.pem")})) {
    if (auto added = add_file(*chain, true, found); !added) return std::unexpected(added.error());
  }
  if (auto crl = first_file({product / (prefix + "_crl.der"), product / (prefix + "_crl.pem")})) {
    if (auto added = add_file(*crl, true, found); !added) return std::unexpected(added.error());
  }
  return found.documents();
}

}  // namespace cloister::attestation::snp

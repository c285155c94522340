#include "formats/dcap/dcap_collateral.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <system_error>

#include "cloister/crypto/hash.h"
#include "cloister/core/private_files.h"
#include "formats/dcap/dcap_util.h"
#include "formats/dcap/pck_certificate.h"
#include "formats/dcap/quote.h"
#include "formats/dcap/tcb_info.h"

namespace cloister::attestation::dcap {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr std::size_t kMaxCollateralFileSize = 1024 * 1024;
constexpr std::string_view kPemCertificate = "-----BEGIN CERTIFICATE-----";
constexpr std::string_view kPemCrl = "-----BEGIN X509 CRL-----";

constexpr std::array kRequiredMembers{member::kRootCaCrl,          member::kPckCrl,
                                      member::kTcbInfoIssuerChain, member::kTcbInfo,
                                      member::kTcbInfoSignature,   member::kQeIdentityIssuerChain,
                                      member::kQeIdentity,         member::kQeIdentitySignature};
constexpr std::array kAllMembers{member::kPckCrlIssuerChain,     member::kRootCaCrl,  member::kPckCrl,
                                 member::kTcbInfoIssuerChain,    member::kTcbInfo,    member::kTcbInfoSignature,
                                 member::kQeIdentityIssuerChain, member::kQeIdentity, member::kQeIdentitySignature,
                                 member::kPckCertificateChain};

Result<std::string> string_member(const json& documents, std::string_view name) {
  auto found = documents.find(name);
  if (found == documents.end() || found->is_null()) {
    return fail(ErrorCode::collateral_missing, "collateral member " + std::string(name) + " is missing");
  }
  if (!found->is_string()) {
    return fail(ErrorCode::bad_encoding, "collateral member " + std::string(name) + " is not a string");
  }
  return found->get<std::string>();
}

Result<crypto::Crl> decode_crl(std::string_view name, const std::string& text) {
  if (text.find(kPemCrl) != std::string::npos) {
    auto crl = crypto::Crl::from_pem(text);
    if (!crl) return fail(ErrorCode::bad_encoding, std::string(name) + ": " + crl.error().detail);
    return std::move(*crl);
  }
  auto der = crypto::hex_decode(text);
  if (!der) return fail(ErrorCode::bad_encoding, std::string(name) + " is neither PEM nor hex of DER");
  auto crl = crypto::Crl::from_der(*der);
  if (!crl) return fail(ErrorCode::bad_encoding, std::string(name) + ": " + crl.error().detail);
  return std::move(*crl);
}

Result<std::vector<crypto::Certificate>> decode_chain(std::string_view name, const std::string& pem) {
  auto chain = crypto::Certificate::chain_from_pem(pem);
  if (!chain) return fail(ErrorCode::bad_encoding, std::string(name) + ": " + chain.error().detail);
  return std::move(*chain);
}

Result<SignedDocument> decode_signed(const json& documents, std::string_view body_name, std::string_view signature_name,
                                     std::string_view chain_name) {
  DCAP_TRY(body, string_member(documents, body_name));
  DCAP_TRY(signature_hex, string_member(documents, signature_name));
  DCAP_TRY(chain_pem, string_member(documents, chain_name));
  auto signature = crypto::hex_decode(signature_hex);
  if (!signature || signature->size() != 64) {
    return fail(ErrorCode::bad_encoding, std::string(signature_name) + " is not 64 bytes of hex (raw r || s)");
  }
  DCAP_TRY(chain, decode_chain(chain_name, chain_pem));
  return SignedDocument{std::move(body), std::move(*signature), std::move(chain)};
}

// ---- reading files ----

bool contains(const std::string& text, std::string_view needle) { return text.find(needle) != std::string::npos; }

// What the files given so far contribute, before it becomes Collateral::documents.
class CollateralFiles {
 public:
  explicit CollateralFiles(std::string_view format) : tdx_(format == "tdx") {}

  Status add_path(const fs::path& path) {
    std::error_code error;
    if (fs::is_directory(path, error)) {
      std::vector<fs::path> files;
      for (const auto& entry : fs::directory_iterator(path, error)) {
        if (entry.is_regular_file(error)) files.push_back(entry.path());
      }
      if (error) return fail(ErrorCode::io_error, "cannot list " + path.string() + ": " + error.message());
      std::sort(files.begin(), files.end());
      for (const auto& file : files) DCAP_CHECK(add_file(file, /*named=*/false));
      return {};
    }
    return add_file(path, /*named=*/true);
  }

  Result<Collateral> finish() {
    json documents = json::object();
    auto set = [&](std::string_view name, const std::string& value) -> Status {
      auto found = documents.find(name);
      if (found != documents.end() && *found != value) {
        return fail(ErrorCode::invalid_argument, "two different values for collateral member " + std::string(name));
      }
      documents[std::string(name)] = value;
      return {};
    };
    for (const auto& [name, value] : members_) DCAP_CHECK(set(name, value));

    // Certificates and CRLs by role.
    std::optional<crypto::Certificate> tcb_signer;
    std::optional<crypto::Certificate> pck_leaf;
    for (const auto& certificate : certificates_) {
      const std::string subject = certificate.subject();
      if (contains(subject, "SGX TCB Signing")) {
        if (tcb_signer && *tcb_signer != certificate) {
          return fail(ErrorCode::invalid_argument, "two different TCB Signing certificates");
        }
        tcb_signer = certificate;
      } else if (contains(subject, "SGX PCK Certificate") && !certificate.is_ca()) {
        if (pck_leaf && *pck_leaf != certificate) {
          return fail(ErrorCode::invalid_argument, "two different PCK certificates");
        }
        pck_leaf = certificate;
      }
    }
    std::optional<crypto::Crl> root_crl;
    std::optional<crypto::Crl> pck_crl;
    for (const auto& crl : crls_) {
      const std::string issuer = crl.issuer();
      auto& slot = contains(issuer, "SGX Root CA") ? root_crl : pck_crl;
      if (!contains(issuer, "SGX Root CA") && !contains(issuer, "SGX PCK")) continue;
      if (slot && slot->der() != crl.der()) {
        return fail(ErrorCode::invalid_argument, "two different CRLs issued by " + issuer);
      }
      slot = crl;
    }
    if (root_crl) DCAP_CHECK(set(member::kRootCaCrl, crypto::hex_encode(root_crl->der())));
    if (pck_crl) {
      DCAP_CHECK(set(member::kPckCrl, crypto::hex_encode(pck_crl->der())));
      if (auto ca = issuer_of(pck_crl->issuer())) {
        DCAP_CHECK(set(member::kPckCrlIssuerChain, chain_pem(*ca)));
      }
    }
    if (tcb_signer) {
      DCAP_CHECK(set(member::kTcbInfoIssuerChain, chain_pem(*tcb_signer)));
      DCAP_CHECK(set(member::kQeIdentityIssuerChain, chain_pem(*tcb_signer)));
    }
    if (pck_leaf) {
      if (auto ca = issuer_of(pck_leaf->issuer())) {
        DCAP_CHECK(set(member::kPckCertificateChain, pck_leaf->pem() + chain_pem(*ca)));
      }
    }

    std::string missing;
    for (auto name : kRequiredMembers) {
      if (!documents.contains(name)) missing += (missing.empty() ? "" : ", ") + std::string(name);
    }
    if (!missing.empty()) {
      return fail(ErrorCode::collateral_missing, "the collateral files lack " + missing);
    }
    return Collateral{std::move(documents)};
  }

 private:
  Status add_file(const fs::path& path, bool named) {
    auto content = cloister::read_file(path, kMaxCollateralFileSize);
    if (!content) return std::unexpected(content.error());
    auto recognised = add_content(*content, path.filename().string());
    if (!recognised) return std::unexpected(recognised.error());
    if (!*recognised && named) {
      return fail(ErrorCode::bad_encoding,
                  path.string() + " holds no " + std::string(tdx_ ? "TDX" : "SGX") + " DCAP collateral");
    }
    return {};
  }

  // true when the content was used.
  Result<bool> add_content(const std::string& content, const std::string& name) {
    const auto first = content.find_first_not_of(" \t\r\n");
    if (first != std::string::npos && content[first] == '{') return add_json(content, name);
    if (contains(content, kPemCertificate)) {
      auto chain = crypto::Certificate::chain_from_pem(content);
      if (!chain) return fail(ErrorCode::bad_encoding, name + ": " + chain.error().detail);
      for (auto& certificate : *chain) add_certificate(std::move(certificate));
      return true;
    }
    if (contains(content, kPemCrl)) {
      auto crl = crypto::Crl::from_pem(content);
      if (!crl) return fail(ErrorCode::bad_encoding, name + ": " + crl.error().detail);
      crls_.push_back(std::move(*crl));
      return true;
    }
    const crypto::BytesView bytes = crypto::as_bytes(content);
    if (auto certificate = crypto::Certificate::from_der(bytes)) {
      add_certificate(std::move(*certificate));
      return true;
    }
    if (auto crl = crypto::Crl::from_der(bytes)) {
      crls_.push_back(std::move(*crl));
      return true;
    }
    return false;
  }

  Result<bool> add_json(const std::string& content, const std::string& name) {
    json value = json::parse(content, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded() || !value.is_object()) return false;
    if (value.contains(member::kTcbInfo) || value.contains(member::kQeIdentity) || value.contains(member::kPckCrl)) {
      // A dcap-qvl bundle.
      for (auto member_name : kAllMembers) {
        auto found = value.find(member_name);
        if (found == value.end()) continue;
        if (!found->is_string()) {
          return fail(ErrorCode::bad_encoding, name + ": member " + std::string(member_name) + " is not a string");
        }
        DCAP_CHECK(add_member(member_name, found->get<std::string>(), name));
      }
      return true;
    }
    const bool tcb_info = value.contains("tcbInfo");
    const bool identity = value.contains("enclaveIdentity");
    if ((!tcb_info && !identity) || !value.contains("signature") || !value["signature"].is_string()) return false;
    DCAP_TRY(body, detail::raw_member_text(content, tcb_info ? "tcbInfo" : "enclaveIdentity"));
    const std::string signature = value["signature"].get<std::string>();
    if (tcb_info) {
      const json& info = value["tcbInfo"];
      const bool is_tdx = info.is_object() && info.contains("id") && info["id"] == kTcbInfoIdTdx;
      if (is_tdx != tdx_) return false;
      DCAP_CHECK(add_member(member::kTcbInfo, std::string(body), name));
      DCAP_CHECK(add_member(member::kTcbInfoSignature, signature, name));
      return true;
    }
    const json& info = value["enclaveIdentity"];
    const std::string_view wanted = tdx_ ? kQeIdentityIdTdx : kQeIdentityIdSgx;
    if (!info.is_object() || !info.contains("id") || info["id"] != wanted) return false;
    DCAP_CHECK(add_member(member::kQeIdentity, std::string(body), name));
    DCAP_CHECK(add_member(member::kQeIdentitySignature, signature, name));
    return true;
  }

  Status add_member(std::string_view member_name, const std::string& value, const std::string& file) {
    auto [it, inserted] = members_.emplace(std::string(member_name), value);
    if (!inserted && it->second != value) {
      return fail(ErrorCode::invalid_argument, "two different documents for collateral member " +
                                                   std::string(member_name) + " (the second in " + file +
                                                   "): name the files to use instead of their directory");
    }
    return {};
  }

  void add_certificate(crypto::Certificate certificate) {
    for (const auto& known : certificates_) {
      if (known == certificate) return;
    }
    certificates_.push_back(std::move(certificate));
  }

  // The non-root certificate with this subject.
  std::optional<crypto::Certificate> issuer_of(const std::string& issuer_name) const {
    for (const auto& certificate : certificates_) {
      if (certificate.subject() == issuer_name && !is_self_issued(certificate)) return certificate;
    }
    return std::nullopt;
  }

  // PEM of `certificate` followed by its issuing root when one was given.
  std::string chain_pem(const crypto::Certificate& certificate) const {
    std::string pem = certificate.pem();
    for (const auto& root : certificates_) {
      if (is_self_issued(root) && root.subject() == certificate.issuer()) {
        pem += root.pem();
        break;
      }
    }
    return pem;
  }

  bool tdx_;
  std::map<std::string, std::string> members_;
  std::vector<crypto::Certificate> certificates_;
  std::vector<crypto::Crl> crls_;
};

}  // namespace

Result<DcapCollateral> decode_collateral(const Collateral& collateral) {
  const json& documents = collateral.documents;
  if (!documents.is_object()) return fail(ErrorCode::bad_encoding, "the collateral is not a JSON object");
  std::string missing;
  for (auto name : kRequiredMembers) {
    auto found = documents.find(name);
    if (found == documents.end() || found->is_null()) missing += (missing.empty() ? "" : ", ") + std::string(name);
  }
  if (!missing.empty()) return fail(ErrorCode::collateral_missing, "the collateral lacks " + missing);

  DCAP_TRY(root_crl_text, string_member(documents, member::kRootCaCrl));
  DCAP_TRY(root_crl, decode_crl(member::kRootCaCrl, root_crl_text));
  DCAP_TRY(pck_crl_text, string_member(documents, member::kPckCrl));
  DCAP_TRY(pck_crl, decode_crl(member::kPckCrl, pck_crl_text));
  std::optional<std::vector<crypto::Certificate>> pck_crl_chain;
  if (documents.contains(member::kPckCrlIssuerChain) && !documents[member::kPckCrlIssuerChain].is_null()) {
    DCAP_TRY(chain_text, string_member(documents, member::kPckCrlIssuerChain));
    DCAP_TRY(chain, decode_chain(member::kPckCrlIssuerChain, chain_text));
    pck_crl_chain = std::move(chain);
  }
  DCAP_TRY(tcb_info,
           decode_signed(documents, member::kTcbInfo, member::kTcbInfoSignature, member::kTcbInfoIssuerChain));
  DCAP_TRY(qe_identity,
           decode_signed(documents, member::kQeIdentity, member::kQeIdentitySignature, member::kQeIdentityIssuerChain));
  return DcapCollateral{std::move(root_crl), std::move(pck_crl), std::move(pck_crl_chain), std::move(tcb_info),
                        std::move(qe_identity)};
}

Result<std::optional<std::string>> pck_certificate_chain_member(const Collateral& collateral) {
  const json& documents = collateral.documents;
  if (!documents.is_object() || !documents.contains(member::kPckCertificateChain) ||
      documents[member::kPckCertificateChain].is_null()) {
    return std::optional<std::string>{};
  }
  DCAP_TRY(text, string_member(documents, member::kPckCertificateChain));
  return std::optional<std::string>(std::move(text));
}

Result<Collateral> load_collateral_files(std::string_view format, const std::vector<fs::path>& paths) {
  CollateralFiles files(format);
  for (const auto& path : paths) DCAP_CHECK(files.add_path(path));
  return files.finish();
}

Result<Collateral> load_collateral_store(std::string_view format, const fs::path& store, crypto::BytesView evidence) {
  DCAP_TRY(quote, parse_quote(evidence));
  if (quote.is_tdx() != (format == "tdx")) {
    return fail(ErrorCode::evidence_malformed,
                "the quote is not a" + std::string(format == "tdx" ? " TDX" : "n SGX") + " quote");
  }
  if (quote.certification_type != kCertificationPckChain) {
    return fail(ErrorCode::evidence_malformed, "the quote carries no PCK certificate chain to look its FMSPC up by");
  }
  DCAP_TRY(chain, parse_quote_pck_chain(quote.certification_data));
  DCAP_TRY(extensions, pck_extensions(chain.leaf));
  auto ca = pck_ca_of(chain.leaf);
  if (!ca)
    return fail(ErrorCode::evidence_malformed, "the PCK certificate is not issued by a PCK Platform or Processor CA");

  const std::string tee(format == "tdx" ? "tdx" : "sgx");
  const std::vector<fs::path> relative{
      "root_ca_crl.der",
      "tcb_signing_chain.pem",
      fs::path("pck_crl") / (std::string(to_string(*ca)) + ".der"),
      fs::path(tee) / "qe_identity.json",
      fs::path(tee) / "tcb_info" / (crypto::hex_encode(extensions.fmspc) + ".json"),
  };
  std::vector<fs::path> paths;
  for (const auto& path : relative) {
    std::error_code error;
    if (!fs::is_regular_file(store / path, error)) {
      return fail(ErrorCode::collateral_missing, "the collateral store has no " + path.string());
    }
    paths.push_back(store / path);
  }
  return load_collateral_files(format, paths);
}

}  // namespace cloister::attestation::dcap

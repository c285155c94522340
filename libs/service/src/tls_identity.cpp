#include "cloister/service/tls_identity.h"

#include "cloister/crypto/x509.h"

#include <arpa/inet.h>

#include <chrono>
#include <fstream>
#include <sstream>

namespace cloister::service {

Result<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorCode::io_error, "cannot read " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

namespace {

bool is_ip_address(const std::string& name) {
  unsigned char buffer[16];
  return inet_pton(AF_INET, name.c_str(), buffer) == 1 || inet_pton(AF_INET6, name.c_str(), buffer) == 1;
}

}  // namespace

Result<TlsIdentity> make_tls_identity(const Config& config, const std::string& common_name) {
  std::string ca_pem;
  if (auto path = config.get_string("tls.ca_file"); !path.empty()) {
    auto text = read_text_file(path);
    if (!text) return std::unexpected(text.error());
    ca_pem = std::move(*text);
  }

  if (auto cert_path = config.get_string("tls.cert_file"); !cert_path.empty()) {
    auto chain = read_text_file(cert_path);
    if (!chain) return std::unexpected(chain.error());
    auto key_text = read_text_file(config.get_string("tls.key_file"));
    if (!key_text) return std::unexpected(key_text.error());
    auto key = crypto::PrivateKey::from_pem(*key_text);
    if (!key) return fail(ErrorCode::config_invalid, "tls.key_file: " + key.error().to_string());
    return TlsIdentity{std::move(*key), std::move(*chain), std::move(ca_pem)};
  }

  auto issuer_cert_path = config.get_string("tls.issuer_cert_file");
  auto issuer_key_path = config.get_string("tls.issuer_key_file");
  if (issuer_cert_path.empty() || issuer_key_path.empty()) {
    return fail(ErrorCode::config_invalid,
                "TLS needs tls.cert_file and tls.key_file, or tls.issuer_cert_file and tls.issuer_key_file");
  }
  auto issuer_pem = read_text_file(issuer_cert_path);
  if (!issuer_pem) return std::unexpected(issuer_pem.error());
  auto issuer = crypto::Certificate::from_pem(*issuer_pem);
  if (!issuer) return fail(ErrorCode::config_invalid, "tls.issuer_cert_file: " + issuer.error().to_string());
  auto issuer_key_pem = read_text_file(issuer_key_path);
  if (!issuer_key_pem) return std::unexpected(issuer_key_pem.error());
  auto issuer_key = crypto::PrivateKey::from_pem(*issuer_key_pem);
  if (!issuer_key) return fail(ErrorCode::config_invalid, "tls.issuer_key_file: " + issuer_key.error().to_string());

  auto key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  crypto::CertificateOptions options;
  options.common_name = common_name;
  for (const auto& name : config.get_strings("tls.server_names")) {
    (is_ip_address(name) ? options.ip_addresses : options.dns_names).push_back(name);
  }
  auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  options.not_before_unix = now - 300;
  options.not_after_unix = now + config.get_int("tls.certificate_days") * 86400;
  auto certificate = crypto::issue_certificate(key.public_key(), options, *issuer_key, &*issuer);
  if (!certificate) return std::unexpected(certificate.error());
  return TlsIdentity{std::move(key), certificate->pem() + issuer->pem(), std::move(ca_pem)};
}

}  // namespace cloister::service

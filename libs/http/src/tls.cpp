#include "tls.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <memory>

namespace cloister::http {
namespace {

using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;
using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

BioPtr memory_bio(std::string_view data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())), &BIO_free);
}

// Every certificate in a PEM bundle, in order.
Result<std::vector<X509Ptr>> read_certificates(std::string_view pem, std::string_view what) {
  std::vector<X509Ptr> certificates;
  auto bio = memory_bio(pem);
  if (!bio) return fail(ErrorCode::internal, "out of memory");
  for (;;) {
    X509Ptr certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
    if (!certificate) break;
    certificates.push_back(std::move(certificate));
  }
  ERR_clear_error();  // the loop ends on "no start line"
  if (certificates.empty()) return fail(ErrorCode::config_invalid, std::string(what) + ": no PEM certificate");
  return certificates;
}

Result<EvpPkeyPtr> read_private_key(std::string_view pem, std::string_view what) {
  auto bio = memory_bio(pem);
  if (!bio) return fail(ErrorCode::internal, "out of memory");
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
  ERR_clear_error();
  if (!key) return fail(ErrorCode::config_invalid, std::string(what) + ": no PEM private key");  // never the bytes
  return key;
}

Status common_context(SSL_CTX* context) {
  if (SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(context, tls::kTls12Ciphers) != 1 ||
      SSL_CTX_set_ciphersuites(context, tls::kTls13Ciphersuites) != 1 ||
      SSL_CTX_set1_groups_list(context, tls::kGroups) != 1) {
    return fail(ErrorCode::config_invalid, "TLS protocol configuration: " + tls::drain_errors());
  }
  SSL_CTX_set_options(context, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  return {};
}

// Certificate chain (leaf first) and its private key.
Status use_certificate(SSL_CTX* context, std::string_view chain_pem, std::string_view key_pem, std::string_view what) {
  auto chain = read_certificates(chain_pem, what);
  if (!chain) return std::unexpected(chain.error());
  auto key = read_private_key(key_pem, what);
  if (!key) return std::unexpected(key.error());
  if (SSL_CTX_use_certificate(context, chain->front().get()) != 1) {
    return fail(ErrorCode::config_invalid, std::string(what) + ": certificate refused: " + tls::drain_errors());
  }
  SSL_CTX_clear_chain_certs(context);
  for (std::size_t i = 1; i < chain->size(); ++i) {
    if (SSL_CTX_add1_chain_cert(context, (*chain)[i].get()) != 1) {
      return fail(ErrorCode::config_invalid, std::string(what) + ": chain certificate refused: " + tls::drain_errors());
    }
  }
  if (SSL_CTX_use_PrivateKey(context, key->get()) != 1 || SSL_CTX_check_private_key(context) != 1) {
    return fail(ErrorCode::config_invalid, std::string(what) + ": the private key does not match the certificate");
  }
  return {};
}

Status add_trust_anchors(SSL_CTX* context, std::string_view pem, std::string_view what) {
  auto certificates = read_certificates(pem, what);
  if (!certificates) return std::unexpected(certificates.error());
  X509_STORE* store = SSL_CTX_get_cert_store(context);
  for (const auto& certificate : *certificates) {
    if (X509_STORE_add_cert(store, certificate.get()) != 1) {
      auto reason = ERR_GET_REASON(ERR_peek_last_error());
      if (reason != X509_R_CERT_ALREADY_IN_HASH_TABLE) {
        return fail(ErrorCode::config_invalid, std::string(what) + ": " + tls::drain_errors());
      }
      ERR_clear_error();
    }
  }
  return {};
}

std::string to_hex(const unsigned char* data, std::size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(kHex[data[i] >> 4]);
    out.push_back(kHex[data[i] & 0xf]);
  }
  return out;
}

Result<std::string> spki_der(X509* certificate) {
  unsigned char* der = nullptr;
  int length = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(certificate), &der);
  if (length <= 0) return fail(ErrorCode::cert_parse_failed, "certificate public key");
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(length));
  OPENSSL_free(der);
  return out;
}

Result<std::string> spki_sha256_hex(X509* certificate) {
  auto spki = spki_der(certificate);
  if (!spki) return std::unexpected(spki.error());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_length = 0;
  if (EVP_Digest(spki->data(), spki->size(), digest, &digest_length, EVP_sha256(), nullptr) != 1) {
    return fail(ErrorCode::crypto_failure, "SHA-256");
  }
  return to_hex(digest, digest_length);
}

}  // namespace

namespace tls {

std::string drain_errors() {
  std::string out;
  while (unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    if (!out.empty()) out += "; ";
    out += buffer;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

Status configure_server_context(SSL_CTX* context, const TlsServerOptions& options) {
  ERR_clear_error();
  if (auto status = common_context(context); !status) return status;
  SSL_CTX_set_options(context, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
  // No resumption at all: no stateful cache, no TLS 1.3 tickets. Every connection re-verifies the
  // client certificate, which is what channel binding relies on.
  SSL_CTX_set_session_cache_mode(context, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(context, 0);
  if (options.certificate_chain_pem.empty()) {
    return fail(ErrorCode::config_invalid, "TLS needs a certificate chain (plaintext must be asked for explicitly)");
  }
  if (auto status = use_certificate(context, options.certificate_chain_pem, options.private_key_pem.reveal(),
                                    "server certificate");
      !status) {
    return status;
  }
  if (options.client_ca_pem.empty()) {
    if (options.require_client_certificate) {
      return fail(ErrorCode::config_invalid, "require_client_certificate needs client_ca_pem");
    }
    SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nullptr);
    return {};
  }
  if (auto status = add_trust_anchors(context, options.client_ca_pem, "client CA"); !status) return status;
  // The CA names sent in the CertificateRequest.
  auto cas = read_certificates(options.client_ca_pem, "client CA");
  if (!cas) return std::unexpected(cas.error());
  STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
  for (const auto& ca : *cas) {
    if (X509_NAME* name = X509_NAME_dup(X509_get_subject_name(ca.get()))) sk_X509_NAME_push(names, name);
  }
  SSL_CTX_set_client_CA_list(context, names);
  int mode = SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE;
  if (options.require_client_certificate) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  SSL_CTX_set_verify(context, mode, nullptr);
  SSL_CTX_set_verify_depth(context, 8);
  // A session id context is required when verifying peers (even with the cache off).
  static constexpr unsigned char kSessionContext[] = "cloister-http";
  SSL_CTX_set_session_id_context(context, kSessionContext, sizeof kSessionContext - 1);
  return {};
}

Status configure_client_context(SSL_CTX* context, const ClientOptions& options) {
  ERR_clear_error();
  if (auto status = common_context(context); !status) return status;
  SSL_CTX_set_options(context, SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(context, SSL_SESS_CACHE_OFF);
  if (options.ca_pem.empty()) {
    if (SSL_CTX_set_default_verify_paths(context) != 1) {
      return fail(ErrorCode::config_invalid, "system trust store: " + drain_errors());
    }
  } else if (auto status = add_trust_anchors(context, options.ca_pem, "client ca_pem"); !status) {
    return status;
  }
  SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_verify_depth(context, 8);
  if (!options.client_certificate_pem.empty()) {
    if (auto status = use_certificate(context, options.client_certificate_pem, options.client_private_key_pem.reveal(),
                                      "client certificate");
        !status) {
      return status;
    }
  }
  for (const auto& pin : options.pinned_spki_sha256_hex) {
    bool hex = pin.size() == 64 && std::all_of(pin.begin(), pin.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
    if (!hex) return fail(ErrorCode::config_invalid, "a pinned SPKI SHA-256 is not 64 hex digits");
  }
  return {};
}

Status prepare_client_connection(SSL* ssl, std::string_view host, bool host_is_ip) {
  std::string name(host);
  if (host_is_ip) {
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str()) != 1) {
      return fail(ErrorCode::invalid_argument, "bad IP address in URL");
    }
  } else {
    if (SSL_set_tlsext_host_name(ssl, name.c_str()) != 1 || SSL_set1_host(ssl, name.c_str()) != 1) {
      return fail(ErrorCode::invalid_argument, "bad host name in URL");
    }
    // Wildcards only in the left-most label, never partial ("f*.example.com").
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  }
  SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
  return {};
}

Status check_spki_pins(SSL* ssl, const std::vector<std::string>& pins) {
  if (pins.empty()) return {};
  X509* certificate = SSL_get0_peer_certificate(ssl);
  if (!certificate) return fail(ErrorCode::upstream_failed, "TLS: the server sent no certificate");
  auto digest = spki_sha256_hex(certificate);
  if (!digest) return fail(ErrorCode::upstream_failed, "TLS: server key unreadable");
  for (const auto& pin : pins) {
    std::string lower = pin;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower == *digest) return {};
  }
  return fail(ErrorCode::upstream_failed, "TLS: the server key matches no pinned SPKI SHA-256");
}

std::string verify_failure(SSL* ssl) {
  long result = SSL_get_verify_result(ssl);
  if (result == X509_V_OK) return {};
  return X509_verify_cert_error_string(result);
}

std::optional<PeerCertificate> peer_certificate(SSL* ssl) {
  X509* certificate = SSL_get0_peer_certificate(ssl);
  if (!certificate || SSL_get_verify_result(ssl) != X509_V_OK) return std::nullopt;
  PeerCertificate peer;
  unsigned char* der = nullptr;
  int length = i2d_X509(certificate, &der);
  if (length <= 0) return std::nullopt;
  peer.der.assign(reinterpret_cast<const char*>(der), static_cast<std::size_t>(length));
  OPENSSL_free(der);
  auto spki = spki_der(certificate);
  if (!spki) return std::nullopt;
  peer.spki_der = std::move(*spki);
  BioPtr bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (bio && X509_NAME_print_ex(bio.get(), X509_get_subject_name(certificate), 0, XN_FLAG_RFC2253) >= 0) {
    char* data = nullptr;
    long size = BIO_get_mem_data(bio.get(), &data);
    if (size > 0) peer.subject.assign(data, static_cast<std::size_t>(size));
  }
  return peer;
}

}  // namespace tls

Result<std::string> spki_sha256_hex_of_pem_certificate(std::string_view pem) {
  auto bio = memory_bio(pem);
  if (!bio) return fail(ErrorCode::internal, "out of memory");
  X509Ptr certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
  ERR_clear_error();
  if (!certificate) return fail(ErrorCode::cert_parse_failed, "no PEM certificate");
  return spki_sha256_hex(certificate.get());
}

}  // namespace cloister::http

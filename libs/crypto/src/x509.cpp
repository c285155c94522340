#include "cloister/crypto/x509.h"

#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

#include <ctime>
#include <stdexcept>

#include "cloister/crypto/hash.h"
#include "cloister/crypto/random.h"
#include "openssl_util.h"

namespace cloister::crypto {
namespace {

constexpr std::size_t kMaxDerSize = 1 << 20;

X509* as_x509(void* p) { return static_cast<X509*>(p); }
X509_CRL* as_crl(void* p) { return static_cast<X509_CRL*>(p); }

std::shared_ptr<void> share_x509(X509* x) {
  return std::shared_ptr<void>(x, [](void* p) { X509_free(static_cast<X509*>(p)); });
}
std::shared_ptr<void> share_crl(X509_CRL* crl) {
  return std::shared_ptr<void>(crl, [](void* p) { X509_CRL_free(static_cast<X509_CRL*>(p)); });
}

int no_password(char*, int, int, void*) { return -1; }

std::string name_text(const X509_NAME* name) {
  auto bio = detail::make_bio(BIO_new(BIO_s_mem()));
  if (!bio || name == nullptr || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return {};
  return detail::bio_contents(bio.get());
}

std::int64_t unix_time(const ASN1_TIME* time) {
  if (time == nullptr) return 0;
  std::tm tm{};
  if (ASN1_TIME_to_tm(time, &tm) != 1) return 0;
  return static_cast<std::int64_t>(timegm(&tm));
}

Result<detail::X509Ptr> parse_der_certificate(BytesView der) {
  if (der.empty() || der.size() > kMaxDerSize) return fail(ErrorCode::cert_parse_failed, "certificate size out of range");
  const unsigned char* cursor = der.data();
  detail::X509Ptr certificate(d2i_X509(nullptr, &cursor, static_cast<long>(der.size())), &X509_free);
  if (!certificate) return fail(ErrorCode::cert_parse_failed, "DER certificate: " + detail::openssl_error());
  if (cursor != der.data() + der.size()) return fail(ErrorCode::cert_parse_failed, "trailing bytes after certificate");
  return certificate;
}

// A certificate whose key OpenSSL cannot decode is refused at parse time, so public_key() always works.
Result<Certificate> adopt(detail::X509Ptr certificate) {
  if (X509_get0_pubkey(certificate.get()) == nullptr) {
    ERR_clear_error();
    return fail(ErrorCode::cert_parse_failed, "certificate public key cannot be decoded");
  }
  return Certificate::from_native(certificate.get());
}

}  // namespace

// ---- Certificate ----

Certificate Certificate::from_native(void* x509) {
  if (x509 == nullptr) throw std::invalid_argument("Certificate::from_native: null X509");
  if (X509_up_ref(as_x509(x509)) != 1) throw std::runtime_error("X509_up_ref failed");
  return Certificate(share_x509(as_x509(x509)));
}

Result<Certificate> Certificate::from_pem(std::string_view pem) {
  auto bio = detail::memory_bio(pem.data(), pem.size());
  if (!bio) return fail(ErrorCode::crypto_failure, "BIO_new_mem_buf failed");
  detail::X509Ptr certificate(PEM_read_bio_X509(bio.get(), nullptr, no_password, nullptr), &X509_free);
  if (!certificate) return fail(ErrorCode::cert_parse_failed, "PEM certificate: " + detail::openssl_error());
  return adopt(std::move(certificate));
}

Result<Certificate> Certificate::from_der(BytesView der) {
  auto certificate = parse_der_certificate(der);
  if (!certificate) return std::unexpected(certificate.error());
  return adopt(std::move(*certificate));
}

Result<std::vector<Certificate>> Certificate::chain_from_pem(std::string_view pem) {
  auto bio = detail::memory_bio(pem.data(), pem.size());
  if (!bio) return fail(ErrorCode::crypto_failure, "BIO_new_mem_buf failed");
  std::vector<Certificate> chain;
  ERR_clear_error();
  while (true) {
    detail::X509Ptr certificate(PEM_read_bio_X509(bio.get(), nullptr, no_password, nullptr), &X509_free);
    if (!certificate) {
      unsigned long error = ERR_peek_last_error();
      // Running out of PEM blocks is the normal end; anything else is a broken block.
      if (ERR_GET_LIB(error) == ERR_LIB_PEM && ERR_GET_REASON(error) == PEM_R_NO_START_LINE) {
        ERR_clear_error();
        break;
      }
      return fail(ErrorCode::cert_parse_failed,
                  "PEM certificate " + std::to_string(chain.size() + 1) + ": " + detail::openssl_error());
    }
    auto adopted = adopt(std::move(certificate));
    if (!adopted) return std::unexpected(adopted.error());
    chain.push_back(std::move(*adopted));
  }
  if (chain.empty()) return fail(ErrorCode::cert_parse_failed, "no certificate in PEM text");
  return chain;
}

Bytes Certificate::der() const {
  unsigned char* buffer = nullptr;
  int length = i2d_X509(as_x509(certificate_.get()), &buffer);
  if (length <= 0) throw std::runtime_error("i2d_X509 failed");
  Bytes out(buffer, buffer + length);
  OPENSSL_free(buffer);
  return out;
}

std::string Certificate::pem() const {
  auto bio = detail::make_bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), as_x509(certificate_.get())) != 1) {
    throw std::runtime_error("PEM_write_bio_X509 failed");
  }
  return detail::bio_contents(bio.get());
}

PublicKey Certificate::public_key() const {
  return PublicKey::from_native(X509_get0_pubkey(as_x509(certificate_.get())));
}

std::string Certificate::subject() const { return name_text(X509_get_subject_name(as_x509(certificate_.get()))); }
std::string Certificate::issuer() const { return name_text(X509_get_issuer_name(as_x509(certificate_.get()))); }

std::string Certificate::serial_hex() const {
  auto serial = detail::make_bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(as_x509(certificate_.get())), nullptr));
  if (!serial) return {};
  Bytes bytes(static_cast<std::size_t>(BN_num_bytes(serial.get())));
  BN_bn2bin(serial.get(), bytes.data());
  return hex_encode(bytes);
}

std::int64_t Certificate::not_before_unix() const { return unix_time(X509_get0_notBefore(as_x509(certificate_.get()))); }
std::int64_t Certificate::not_after_unix() const { return unix_time(X509_get0_notAfter(as_x509(certificate_.get()))); }

std::optional<Bytes> Certificate::extension_der(std::string_view oid) const {
  std::unique_ptr<ASN1_OBJECT, decltype(&ASN1_OBJECT_free)> object(OBJ_txt2obj(std::string(oid).c_str(), 1),
                                                                   &ASN1_OBJECT_free);
  if (!object) {
    ERR_clear_error();
    return std::nullopt;
  }
  int index = X509_get_ext_by_OBJ(as_x509(certificate_.get()), object.get(), -1);
  if (index < 0) return std::nullopt;
  const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(X509_get_ext(as_x509(certificate_.get()), index));
  if (data == nullptr) return std::nullopt;
  const unsigned char* bytes = ASN1_STRING_get0_data(data);
  return Bytes(bytes, bytes + ASN1_STRING_length(data));
}

bool Certificate::is_ca() const { return (X509_get_extension_flags(as_x509(certificate_.get())) & EXFLAG_CA) != 0; }

Status Certificate::verify_signature(const PublicKey& issuer_key) const {
  if (X509_verify(as_x509(certificate_.get()), static_cast<EVP_PKEY*>(issuer_key.native())) != 1) {
    ERR_clear_error();
    return fail(ErrorCode::signature_invalid, "certificate signature does not verify with the issuer key");
  }
  return {};
}

// ---- Crl ----

Result<Crl> Crl::from_pem(std::string_view pem) {
  auto bio = detail::memory_bio(pem.data(), pem.size());
  if (!bio) return fail(ErrorCode::crypto_failure, "BIO_new_mem_buf failed");
  X509_CRL* crl = PEM_read_bio_X509_CRL(bio.get(), nullptr, no_password, nullptr);
  if (crl == nullptr) return fail(ErrorCode::cert_parse_failed, "PEM CRL: " + detail::openssl_error());
  return Crl(share_crl(crl));
}

Result<Crl> Crl::from_der(BytesView der) {
  if (der.empty() || der.size() > 64 * kMaxDerSize) return fail(ErrorCode::cert_parse_failed, "CRL size out of range");
  const unsigned char* cursor = der.data();
  detail::X509CrlPtr crl(d2i_X509_CRL(nullptr, &cursor, static_cast<long>(der.size())), &X509_CRL_free);
  if (!crl) return fail(ErrorCode::cert_parse_failed, "DER CRL: " + detail::openssl_error());
  if (cursor != der.data() + der.size()) return fail(ErrorCode::cert_parse_failed, "trailing bytes after CRL");
  return Crl(share_crl(crl.release()));
}

Bytes Crl::der() const {
  unsigned char* buffer = nullptr;
  int length = i2d_X509_CRL(as_crl(crl_.get()), &buffer);
  if (length <= 0) throw std::runtime_error("i2d_X509_CRL failed");
  Bytes out(buffer, buffer + length);
  OPENSSL_free(buffer);
  return out;
}

std::string Crl::issuer() const { return name_text(X509_CRL_get_issuer(as_crl(crl_.get()))); }
std::int64_t Crl::this_update_unix() const { return unix_time(X509_CRL_get0_lastUpdate(as_crl(crl_.get()))); }
std::int64_t Crl::next_update_unix() const { return unix_time(X509_CRL_get0_nextUpdate(as_crl(crl_.get()))); }

bool Crl::is_revoked(const Certificate& certificate) const {
  X509_REVOKED* entry = nullptr;
  return X509_CRL_get0_by_cert(as_crl(crl_.get()), &entry, as_x509(certificate.native())) == 1;
}

Status Crl::verify_signature(const PublicKey& issuer_key) const {
  if (X509_CRL_verify(as_crl(crl_.get()), static_cast<EVP_PKEY*>(issuer_key.native())) != 1) {
    ERR_clear_error();
    return fail(ErrorCode::signature_invalid, "CRL signature does not verify with the issuer key");
  }
  return {};
}

// ---- chain verification ----

namespace {

using StorePtr = std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)>;
using StoreContextPtr = std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)>;
using StackPtr = std::unique_ptr<STACK_OF(X509), decltype([](STACK_OF(X509)* s) { sk_X509_free(s); })>;

// When CRLs are optional, an issuer without a CRL is not an error; every other failure stands.
int tolerate_missing_crl(int ok, X509_STORE_CTX* context) {
  if (ok == 0 && X509_STORE_CTX_get_error(context) == X509_V_ERR_UNABLE_TO_GET_CRL) {
    X509_STORE_CTX_set_error(context, X509_V_OK);
    return 1;
  }
  return ok;
}

ErrorCode classify_verify_error(int error) {
  switch (error) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
    case X509_V_ERR_CRL_HAS_EXPIRED:
    case X509_V_ERR_CRL_NOT_YET_VALID:
      return ErrorCode::cert_expired;
    case X509_V_ERR_CERT_REVOKED:
      return ErrorCode::cert_revoked;
    default:
      return ErrorCode::cert_chain_invalid;
  }
}

}  // namespace

Status verify_chain(const Certificate& leaf, const std::vector<Certificate>& intermediates,
                    const ChainVerifyOptions& options) {
  if (options.pinned_roots.empty()) return fail(ErrorCode::cert_chain_invalid, "no pinned root certificates");
  StorePtr store(X509_STORE_new(), &X509_STORE_free);
  StackPtr untrusted(sk_X509_new_null());
  StoreContextPtr context(X509_STORE_CTX_new(), &X509_STORE_CTX_free);
  if (!store || !untrusted || !context) return fail(ErrorCode::crypto_failure, "X509 store allocation failed");
  for (const auto& root : options.pinned_roots) {
    if (X509_STORE_add_cert(store.get(), as_x509(root.native())) != 1) {
      ERR_clear_error();  // the same root twice is harmless
    }
  }
  for (const auto& crl : options.crls) {
    if (X509_STORE_add_crl(store.get(), as_crl(crl.native())) != 1) ERR_clear_error();
  }
  for (const auto& intermediate : intermediates) {
    if (sk_X509_push(untrusted.get(), as_x509(intermediate.native())) <= 0) {
      return fail(ErrorCode::crypto_failure, "sk_X509_push failed");
    }
  }
  if (X509_STORE_CTX_init(context.get(), store.get(), as_x509(leaf.native()), untrusted.get()) != 1) {
    return fail(ErrorCode::crypto_failure, "X509_STORE_CTX_init failed: " + detail::openssl_error());
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(context.get());
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(options.at_unix));  // sets X509_V_FLAG_USE_CHECK_TIME
  X509_VERIFY_PARAM_clear_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
  unsigned long flags = X509_V_FLAG_USE_CHECK_TIME | X509_V_FLAG_CHECK_SS_SIGNATURE;
  const bool check_crls = !options.crls.empty() || options.require_crls_for_every_issuer;
  if (check_crls) flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
  X509_VERIFY_PARAM_set_flags(param, flags);
  if (check_crls && !options.require_crls_for_every_issuer) {
    X509_STORE_CTX_set_verify_cb(context.get(), tolerate_missing_crl);
  }

  const int verified = X509_verify_cert(context.get());
  if (verified != 1) {
    const int error = X509_STORE_CTX_get_error(context.get());
    const int depth = X509_STORE_CTX_get_error_depth(context.get());
    std::string detail = error == X509_V_OK ? detail::openssl_error() : X509_verify_cert_error_string(error);
    ERR_clear_error();
    X509* current = X509_STORE_CTX_get_current_cert(context.get());
    std::string where = current != nullptr ? name_text(X509_get_subject_name(current)) : std::string("?");
    return fail(classify_verify_error(error),
                "X509 verification failed: " + detail + " (depth " + std::to_string(depth) + ", " + where + ")");
  }
  // The store holds only the pinned roots; still insist that the anchor's key is a pinned key.
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(context.get());
  const int length = chain == nullptr ? 0 : sk_X509_num(chain);
  if (length <= 0) return fail(ErrorCode::cert_chain_invalid, "empty verified chain");
  const PublicKey anchor_key = PublicKey::from_native(X509_get0_pubkey(sk_X509_value(chain, length - 1)));
  const Bytes anchor_spki = anchor_key.spki_der();
  for (const auto& root : options.pinned_roots) {
    if (root.public_key().spki_der() == anchor_spki) return {};
  }
  return fail(ErrorCode::cert_chain_invalid, "chain does not end at a pinned root key");
}

// ---- issuance ----

namespace {

Status add_conf_extension(X509* certificate, X509V3_CTX* context, int nid, const char* value) {
  std::unique_ptr<X509_EXTENSION, decltype(&X509_EXTENSION_free)> extension(
      X509V3_EXT_nconf_nid(nullptr, context, nid, value), &X509_EXTENSION_free);
  if (!extension || X509_add_ext(certificate, extension.get(), -1) != 1) {
    return fail(ErrorCode::crypto_failure, std::string("cannot add extension ") + value + ": " + detail::openssl_error());
  }
  return {};
}

bool valid_dns_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '.' || c == '*' || c == '_';
    if (!ok) return false;
  }
  return true;
}

Result<Bytes> key_identifier(X509* certificate) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  // RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING.
  if (X509_pubkey_digest(certificate, EVP_sha1(), digest, &length) != 1) {
    return fail(ErrorCode::crypto_failure, "key identifier digest failed");
  }
  return Bytes(digest, digest + length);
}

Status add_key_identifier(X509* certificate, int nid, BytesView id) {
  std::unique_ptr<ASN1_OCTET_STRING, decltype(&ASN1_OCTET_STRING_free)> octets(ASN1_OCTET_STRING_new(),
                                                                               &ASN1_OCTET_STRING_free);
  if (!octets || ASN1_OCTET_STRING_set(octets.get(), id.data(), static_cast<int>(id.size())) != 1) {
    return fail(ErrorCode::crypto_failure, "key identifier allocation failed");
  }
  int ok = 0;
  if (nid == NID_subject_key_identifier) {
    ok = X509_add1_ext_i2d(certificate, nid, octets.get(), 0, X509V3_ADD_REPLACE);
  } else {
    std::unique_ptr<AUTHORITY_KEYID, decltype(&AUTHORITY_KEYID_free)> authority(AUTHORITY_KEYID_new(),
                                                                                &AUTHORITY_KEYID_free);
    if (!authority) return fail(ErrorCode::crypto_failure, "AUTHORITY_KEYID_new failed");
    authority->keyid = octets.release();
    ok = X509_add1_ext_i2d(certificate, nid, authority.get(), 0, X509V3_ADD_REPLACE);
  }
  if (ok != 1) return fail(ErrorCode::crypto_failure, "cannot add key identifier: " + detail::openssl_error());
  return {};
}

Status add_subject_alt_names(X509* certificate, const CertificateOptions& options) {
  if (options.dns_names.empty() && options.ip_addresses.empty()) return {};
  std::unique_ptr<GENERAL_NAMES, decltype(&GENERAL_NAMES_free)> names(sk_GENERAL_NAME_new_null(), &GENERAL_NAMES_free);
  if (!names) return fail(ErrorCode::crypto_failure, "GENERAL_NAMES allocation failed");
  auto push = [&](int type, ASN1_STRING* value) -> bool {
    GENERAL_NAME* name = GENERAL_NAME_new();
    if (name == nullptr) {
      ASN1_STRING_free(value);
      return false;
    }
    GENERAL_NAME_set0_value(name, type, value);
    if (sk_GENERAL_NAME_push(names.get(), name) <= 0) {
      GENERAL_NAME_free(name);
      return false;
    }
    return true;
  };
  for (const auto& dns : options.dns_names) {
    if (!valid_dns_name(dns)) return fail(ErrorCode::invalid_argument, "invalid DNS name in subjectAltName");
    ASN1_IA5STRING* value = ASN1_IA5STRING_new();
    if (value == nullptr || ASN1_STRING_set(value, dns.data(), static_cast<int>(dns.size())) != 1 ||
        !push(GEN_DNS, value)) {
      return fail(ErrorCode::crypto_failure, "subjectAltName DNS entry failed");
    }
  }
  for (const auto& ip : options.ip_addresses) {
    ASN1_OCTET_STRING* value = a2i_IPADDRESS(ip.c_str());
    if (value == nullptr) {
      ERR_clear_error();
      return fail(ErrorCode::invalid_argument, "invalid IP address in subjectAltName: " + ip);
    }
    if (!push(GEN_IPADD, value)) return fail(ErrorCode::crypto_failure, "subjectAltName IP entry failed");
  }
  // With an empty subject the SAN must be critical (RFC 5280 §4.2.1.6).
  const int critical = options.common_name.empty() ? 1 : 0;
  if (X509_add1_ext_i2d(certificate, NID_subject_alt_name, names.get(), critical, X509V3_ADD_REPLACE) != 1) {
    return fail(ErrorCode::crypto_failure, "cannot add subjectAltName: " + detail::openssl_error());
  }
  return {};
}

}  // namespace

Result<Certificate> issue_certificate(const PublicKey& subject_key, const CertificateOptions& options,
                                      const PrivateKey& issuer_key, const Certificate* issuer) {
  if (options.not_after_unix <= options.not_before_unix) {
    return fail(ErrorCode::invalid_argument, "not_after must be later than not_before");
  }
  if (options.common_name.size() > 64) return fail(ErrorCode::invalid_argument, "common name longer than 64 bytes");
  if (options.common_name.empty() && options.dns_names.empty() && options.ip_addresses.empty()) {
    return fail(ErrorCode::invalid_argument, "a certificate needs a common name or a subjectAltName");
  }
  const KeyType issuer_type = issuer_key.type();
  if (issuer_type == KeyType::x25519) return fail(ErrorCode::bad_key, "an X25519 key cannot sign certificates");
  auto subject_type = subject_key.try_type();
  if (!subject_type) return fail(ErrorCode::bad_key, "unsupported subject key type");
  if (issuer != nullptr) {
    if (!issuer->is_ca()) return fail(ErrorCode::invalid_argument, "the issuer certificate is not a CA");
    if (X509_check_private_key(as_x509(issuer->native()), static_cast<EVP_PKEY*>(issuer_key.native())) != 1) {
      ERR_clear_error();
      return fail(ErrorCode::invalid_argument, "issuer key does not match the issuer certificate");
    }
  } else if (!(issuer_key.public_key() == subject_key)) {
    return fail(ErrorCode::invalid_argument, "a self-signed certificate needs the issuer key's own public key");
  }

  detail::X509Ptr certificate(X509_new(), &X509_free);
  if (!certificate || X509_set_version(certificate.get(), X509_VERSION_3) != 1) {
    return fail(ErrorCode::crypto_failure, "X509_new failed");
  }
  // Random positive 128-bit serial.
  Bytes serial_bytes = random_bytes(16);
  serial_bytes[0] &= 0x7f;
  serial_bytes[0] |= 0x01;  // keeps it 16 bytes long and non-zero
  auto serial = detail::make_bn(BN_bin2bn(serial_bytes.data(), static_cast<int>(serial_bytes.size()), nullptr));
  if (!serial || BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(certificate.get())) == nullptr) {
    return fail(ErrorCode::crypto_failure, "serial number failed");
  }
  X509_NAME* subject = X509_get_subject_name(certificate.get());
  if (!options.common_name.empty() &&
      X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(options.common_name.data()),
                                 static_cast<int>(options.common_name.size()), -1, 0) != 1) {
    return fail(ErrorCode::invalid_argument, "invalid common name: " + detail::openssl_error());
  }
  X509_NAME* issuer_name = issuer != nullptr ? X509_get_subject_name(as_x509(issuer->native())) : subject;
  if (X509_set_issuer_name(certificate.get(), issuer_name) != 1 ||
      ASN1_TIME_set(X509_getm_notBefore(certificate.get()), static_cast<time_t>(options.not_before_unix)) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(certificate.get()), static_cast<time_t>(options.not_after_unix)) == nullptr ||
      X509_set_pubkey(certificate.get(), static_cast<EVP_PKEY*>(subject_key.native())) != 1) {
    return fail(ErrorCode::crypto_failure, "certificate fields failed: " + detail::openssl_error());
  }

  X509V3_CTX context;
  X509V3_set_ctx(&context, issuer != nullptr ? as_x509(issuer->native()) : certificate.get(), certificate.get(),
                 nullptr, nullptr, 0);
  Status added = add_conf_extension(certificate.get(), &context, NID_basic_constraints,
                                    options.is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  if (!added) return std::unexpected(added.error());
  const char* key_usage = "critical,digitalSignature";
  if (options.is_ca) {
    key_usage = "critical,digitalSignature,keyCertSign,cRLSign";
  } else if (*subject_type == KeyType::rsa) {
    key_usage = "critical,digitalSignature,keyEncipherment";
  } else if (*subject_type == KeyType::x25519) {
    key_usage = "critical,keyAgreement";
  }
  added = add_conf_extension(certificate.get(), &context, NID_key_usage, key_usage);
  if (!added) return std::unexpected(added.error());
  if (!options.is_ca && (options.server_auth || options.client_auth)) {
    const char* usage = options.server_auth && options.client_auth ? "serverAuth,clientAuth"
                        : options.server_auth                      ? "serverAuth"
                                                                   : "clientAuth";
    added = add_conf_extension(certificate.get(), &context, NID_ext_key_usage, usage);
    if (!added) return std::unexpected(added.error());
  }
  added = add_subject_alt_names(certificate.get(), options);
  if (!added) return std::unexpected(added.error());

  auto subject_id = key_identifier(certificate.get());
  if (!subject_id) return std::unexpected(subject_id.error());
  added = add_key_identifier(certificate.get(), NID_subject_key_identifier, *subject_id);
  if (!added) return std::unexpected(added.error());
  Bytes authority_id = *subject_id;
  if (issuer != nullptr) {
    const ASN1_OCTET_STRING* issuer_id = X509_get0_subject_key_id(as_x509(issuer->native()));
    if (issuer_id != nullptr) {
      const unsigned char* data = ASN1_STRING_get0_data(issuer_id);
      authority_id.assign(data, data + ASN1_STRING_length(issuer_id));
    } else {
      auto computed = key_identifier(as_x509(issuer->native()));
      if (!computed) return std::unexpected(computed.error());
      authority_id = *computed;
    }
  }
  added = add_key_identifier(certificate.get(), NID_authority_key_identifier, authority_id);
  if (!added) return std::unexpected(added.error());

  if (X509_sign(certificate.get(), static_cast<EVP_PKEY*>(issuer_key.native()), EVP_sha256()) <= 0) {
    return fail(ErrorCode::crypto_failure, "certificate signing failed: " + detail::openssl_error());
  }
  return Certificate::from_native(certificate.get());
}

}  // namespace cloister::crypto

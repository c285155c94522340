#pragma once
// X.509 certificates and CRLs (shared, immutable OpenSSL objects), chain verification against
// roots pinned by key, and issuance for a development CA and service certificates.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cloister/core/error.h"
#include "cloister/crypto/bytes.h"
#include "cloister/crypto/keys.h"

namespace cloister::crypto {

class Certificate {
 public:
  // The first certificate in the PEM text (cert_parse_failed when none parses).
  static Result<Certificate> from_pem(std::string_view pem);
  // Exactly one DER certificate, nothing after it.
  static Result<Certificate> from_der(BytesView der);
  // Every certificate of a PEM bundle, in order (cert_parse_failed when there is none or one is bad).
  static Result<std::vector<Certificate>> chain_from_pem(std::string_view pem);
  // Shares an existing X509* (takes a new reference). Throws on nullptr.
  static Certificate from_native(void* x509);

  Bytes der() const;
  std::string pem() const;
  PublicKey public_key() const;
  std::string subject() const;  // RFC 2253, e.g. "CN=SEV-VCEK,OU=Engineering,..."
  std::string issuer() const;
  std::string serial_hex() const;  // lower-case hex, big-endian, no leading zero bytes
  std::int64_t not_before_unix() const;
  std::int64_t not_after_unix() const;
  // The raw extnValue octets of the extension with this dotted OID; nullopt when absent.
  std::optional<Bytes> extension_der(std::string_view oid) const;
  bool is_ca() const;  // basicConstraints cA = TRUE
  // The certificate's signature checked with issuer_key (signature_invalid on mismatch).
  Status verify_signature(const PublicKey& issuer_key) const;
  void* native() const { return certificate_.get(); }  // X509*

  bool operator==(const Certificate& other) const { return der() == other.der(); }

 private:
  explicit Certificate(std::shared_ptr<void> certificate) : certificate_(std::move(certificate)) {}
  std::shared_ptr<void> certificate_;  // X509
};

class Crl {
 public:
  static Result<Crl> from_pem(std::string_view pem);
  static Result<Crl> from_der(BytesView der);

  Bytes der() const;
  std::string issuer() const;
  std::int64_t this_update_unix() const;
  std::int64_t next_update_unix() const;  // 0 when the CRL has no nextUpdate
  // Whether the CRL lists the certificate's serial (issuer names are compared too).
  bool is_revoked(const Certificate& certificate) const;
  Status verify_signature(const PublicKey& issuer_key) const;
  void* native() const { return crl_.get(); }  // X509_CRL*

 private:
  explicit Crl(std::shared_ptr<void> crl) : crl_(std::move(crl)) {}
  std::shared_ptr<void> crl_;  // X509_CRL
};

struct ChainVerifyOptions {
  // Trust anchors, pinned by key: the chain must end at a self-signed certificate whose
  // SubjectPublicKeyInfo equals one of these.
  std::vector<Certificate> pinned_roots;
  // When non-empty, every certificate in the chain is checked against the CRLs of its issuer.
  std::vector<Crl> crls;
  // The verification instant (certificate and CRL validity are checked at this time).
  std::int64_t at_unix = 0;
  // When true, a missing CRL for any issuer in the chain fails the verification; when false, only
  // the CRLs given are applied.
  bool require_crls_for_every_issuer = false;
};

// cert_chain_invalid (no path to a pinned root, bad signature, not a CA, missing required CRL, ...),
// cert_expired (a certificate or CRL outside its validity at at_unix), cert_revoked. The detail
// names the OpenSSL verification error and the depth.
Status verify_chain(const Certificate& leaf, const std::vector<Certificate>& intermediates,
                    const ChainVerifyOptions& options);

struct CertificateOptions {
  std::string common_name;
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;  // IPv4 or IPv6 text
  bool is_ca = false;
  std::int64_t not_before_unix = 0;
  std::int64_t not_after_unix = 0;
  bool server_auth = true;  // extendedKeyUsage (end-entity certificates only)
  bool client_auth = true;
};

// A v3 certificate with a random 16-byte serial, signed with SHA-256 (ECDSA or RSA PKCS#1 v1.5) by
// issuer_key, carrying basicConstraints, keyUsage, extendedKeyUsage (end-entity), subjectAltName,
// subjectKeyIdentifier and authorityKeyIdentifier. issuer == nullptr issues a self-signed
// certificate (subject_key must then be issuer_key's public key). invalid_argument on bad options.
Result<Certificate> issue_certificate(const PublicKey& subject_key, const CertificateOptions& options,
                                      const PrivateKey& issuer_key, const Certificate* issuer);

}  // namespace cloister::crypto

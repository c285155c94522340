#pragma once
// A service's TLS identity. The private key is generated at start, inside the TEE, and never
// leaves the process; its certificate is issued at start by the deployment's issuing CA (in
// development: the CA `cloister up` creates — docs/operations.md). Relying parties do not trust
// the CA for the service's identity: they trust the attestation token, which carries this key
// (channel binding). A fixed certificate and key can be configured instead (tls.cert_file and
// tls.key_file), e.g. for the attestation service behind a public CA.

#include "cloister/core/config.h"
#include "cloister/core/error.h"
#include "cloister/core/sensitive.h"
#include "cloister/crypto/keys.h"

#include <string>

namespace cloister::service {

struct TlsIdentity {
  crypto::PrivateKey key;
  std::string certificate_chain_pem;  // leaf first
  std::string trusted_ca_pem;         // peers' CA bundle (tls.ca_file)
  Sensitive<std::string> private_key_pem() const { return key.pem(); }
};

// From the tls.* options: tls.cert_file + tls.key_file, or a fresh P-256 key with a certificate
// issued by tls.issuer_cert_file/tls.issuer_key_file for tls.server_names.
Result<TlsIdentity> make_tls_identity(const Config& config, const std::string& common_name);

Result<std::string> read_text_file(const std::string& path);

}  // namespace cloister::service

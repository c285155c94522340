#pragma once
// `cloister token verify` and `cloister token request`.

#include <string>

namespace cloister::cli {

struct TokenVerifyOptions {
  std::string token;          // the compact JWS ("-" reads standard input)
  std::string issuer;         // the attestation service URL (OIDC discovery)
  std::string ca_file;        // CA bundle for the attestation service's TLS certificate
  bool allow_simulated = false;
  bool allow_debug = false;
};
// Prints the verified claims as JSON (exit 0), or the error code and detail (exit 1).
int run_token_verify(const TokenVerifyOptions& options);

struct TokenRequestOptions {
  std::string attest_url;
  std::string ca_file;
  std::string sim_platform_key;  // sim TEE: the simulated-platform key
  bool with_nonce = false;       // fetch a one-time nonce first and bind it
};
// Attests this process in the sim TEE (fresh TLS and HPKE keys, runtime data, evidence) and prints
// {"token", "runtime_data"} as JSON. For development and tests.
int run_token_request(const TokenRequestOptions& options);

}  // namespace cloister::cli

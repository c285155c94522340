#pragma once
// PlatformClient: the hospital's side of cloister-platform (steps 2–3 of DESIGN.md), in C++ — for
// `cloister submit`/`cloister demo`, the integration tests and bench/platform; the portal does the
// same in the browser.
//
//   1. GET <platform>/v1/attestation; verify the token offline with the attestation service's JWKS
//      (issuer pinned) against the hospital's policy (TEE types, measurements, simulated or not);
//   2. from then on, connect only to the TLS key that token attests (pinned), and seal every request
//      — method, path, session token and body — to the HPKE key it attests (POST /v1/sealed); the
//      answers open only with this client's request context.

#include "cloister/attestation/token_verifier.h"
#include "cloister/core/error.h"
#include "cloister/http/client.h"
#include "cloister/service/sealed_http.h"
#include "hospital_config.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>

namespace cloister::platform {

struct PlatformAnswer {
  int status = 0;
  std::string content_type;
  std::string body;
  std::map<std::string, std::string> headers;

  nlohmann::json json() const;  // discarded (is_discarded()) when the body is not JSON
  // The problem code of an error answer ("" when none).
  std::string code() const;
};

class PlatformClient {
 public:
  // Verifies the platform (see the file comment). `client_options` gives the trust for the TLS
  // connection (the deployment's CA). Errors: the verifier's (policy_*, token_*, …), upstream_*.
  static Result<PlatformClient> connect(const std::string& url, http::ClientOptions client_options,
                                        std::shared_ptr<attestation::TokenVerifier> verifier);

  // As the portal does it (DESIGN.md step 3; docs/portal.md): GET <platform>/v1/attestation, send that
  // evidence to the attestation service (POST /attest/<format>) for a fresh appraisal, verify the
  // token (JWKS of the pinned issuer, the hospital's policy), then check the hospital's extra
  // expectations: the appraisal policy's hash (policy_hashes; token_claims_invalid) and the time left
  // (min_token_validity_s; token_expired). The evidence document is kept (evidence()).
  static Result<PlatformClient> connect_appraised(const HospitalConfig& hospital, http::ClientOptions client_options);

  // One sealed call. `session` (a "cls_…" token) goes inside the seal as Authorization: Bearer.
  Result<PlatformAnswer> call(const std::string& method, const std::string& target, const std::string& body = {},
                              const std::string& content_type = "application/json",
                              const std::map<std::string, std::string>& headers = {}) const;

  // POST /v1/login; keeps the session token for later calls.
  Result<nlohmann::json> login(const std::string& tenant, const std::string& username, const std::string& password);
  void set_session(std::string token) { session_ = std::move(token); }
  const std::string& session() const { return session_; }

  const attestation::VerifiedToken& platform() const { return verified_; }
  // connect_appraised only: the platform's /v1/attestation document (format, evidence, runtime data)
  // and the attestation service's answer (token, policy_version, policy_hash).
  const nlohmann::json& evidence() const { return evidence_; }
  const nlohmann::json& appraisal() const { return appraisal_; }
  const std::string& url() const { return url_; }

 private:
  // A client whose connections accept only the TLS key `verified` attests.
  static PlatformClient pinned(std::string base, http::ClientOptions client_options, attestation::VerifiedToken verified);
  PlatformClient(std::string url, http::Client client, attestation::VerifiedToken verified)
      : url_(std::move(url)), client_(std::make_shared<http::Client>(std::move(client))), verified_(std::move(verified)) {}
  std::string url_;
  std::shared_ptr<http::Client> client_;
  attestation::VerifiedToken verified_;
  std::string session_;
  nlohmann::json evidence_;
  nlohmann::json appraisal_;
};

// A verifier for the hospital: JWKS from <attest_url> (OIDC discovery), issuer pinned, this policy.
std::shared_ptr<attestation::TokenVerifier> make_hospital_verifier(const std::string& attest_url,
                                                                   http::ClientOptions client_options,
                                                                   attestation::Policy policy);

}  // namespace cloister::platform

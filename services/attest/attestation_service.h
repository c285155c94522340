#pragma once
// cloister-attest: the verifier of DESIGN.md. Routes (docs/attestation.md documents each):
//   POST /attest/nonce                          a short-lived, one-time, server-verifiable nonce
//   POST /attest/{format}                       evidence + runtime data (+ nonce, collateral) → {"token"}
//   POST /attest/{format}/dry-run               evidence + a draft policy → claims and each rule's
//                                               outcome; never a token
//   GET  /.well-known/openid-configuration      OIDC discovery (issuer, jwks_uri)
//   GET  /.well-known/jwks.json                 the token-signing public keys (current, next, retired)
//   GET  /policy                                every format's policy in force, version and hash
//   GET  /admin/policies                        (admin) every format's policy version in force
//   GET  /admin/policies/{format}               (admin) the version in force
//   PUT  /admin/policies/{format}               (admin) a new version
//   GET  /admin/policies/{format}/versions      (admin) the whole history
// Every route is rate limited per client address (429 with Retry-After); admin routes need
// `Authorization: Bearer <admin token>` (AdminCredentials).

#include "nonce_issuer.h"
#include "policy_store.h"
#include "rate_limiter.h"

#include "cloister/attestation/evidence_verifier.h"
#include "cloister/attestation/format_registry.h"
#include "cloister/attestation/policy.h"
#include "cloister/attestation/signing_keys.h"
#include "cloister/attestation/token_issuer.h"
#include "cloister/http/router.h"
#include "cloister/service/admin_credentials.h"

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <vector>

namespace prometheus {
class Registry;
template <class T>
class Family;
class Counter;
class Gauge;
}  // namespace prometheus

namespace cloister::attest {

using service::AdminCredentials;

// How long relying parties may cache the JWKS (its Cache-Control max-age).
inline constexpr std::chrono::seconds kJwksMaxAge{60};

struct AttestationServiceOptions {
  std::filesystem::path state_dir;                     // signing-keys/, policies/, admin and nonce keys
  std::chrono::seconds token_lifetime{300};
  std::chrono::seconds nonce_lifetime{300};
  attestation::FormatConfig formats;
  // Version 1 of each format's policy at first start: seed_policies[format], else seed_policy.
  attestation::Policy seed_policy;
  std::map<std::string, attestation::Policy> seed_policies;
  nlohmann::json admin_credentials = nlohmann::json::array();  // admin.credentials
  std::filesystem::path collateral_dir;                 // the collateral store; empty: none
  RateLimitOptions rate_limit;
  std::chrono::seconds key_rotation_period{0};          // 0: never
  std::chrono::seconds key_prepublish{600};
  std::chrono::seconds key_retention{std::chrono::hours(24)};
};

class AttestationService {
 public:
  // Opens (or creates) the state: signing keys, policies, admin credentials, nonce key.
  // config_invalid when key_retention < token lifetime + kJwksMaxAge (tokens would outlive their key
  // in the JWKS) or the rotation period is not longer than the pre-publication time.
  static Result<std::unique_ptr<AttestationService>> create(AttestationServiceOptions options, const Clock& clock,
                                                            prometheus::Registry& registry);
  ~AttestationService();

  // The issuer is known once the server has bound its port; until then /attest answers 503.
  void set_issuer(std::string issuer);
  void add_routes(http::Router& router);
  // Scheduled work (call every few seconds): signing-key rotation. Logs and returns failures.
  Status tick();

  const attestation::SigningKeys& keys() const { return keys_; }
  PolicyStore& policies() { return *policies_; }
  const AdminCredentials& admin() const { return admin_; }
  NonceIssuer& nonces() { return *nonces_; }

 private:
  AttestationService(AttestationServiceOptions options, attestation::SigningKeys keys,
                     std::unique_ptr<PolicyStore> policies, AdminCredentials admin, std::unique_ptr<NonceIssuer> nonces,
                     const Clock& clock, prometheus::Registry& registry);

  struct Submission;
  Result<Submission> read_submission(const http::Request& request, bool runtime_data_required) const;
  Result<http::Response> attest(const http::Request& request);
  Result<http::Response> dry_run(const http::Request& request);
  Result<http::Response> discovery(const http::Request& request) const;
  Result<http::Response> jwks(const http::Request& request) const;
  Result<http::Response> public_policies(const http::Request& request) const;
  Result<http::Response> admin_list(const http::Request& request, const std::string& who) const;
  Result<http::Response> admin_get(const http::Request& request, const std::string& who) const;
  Result<http::Response> admin_put(const http::Request& request, const std::string& who);
  Result<http::Response> admin_versions(const http::Request& request, const std::string& who) const;

  // Wraps a handler in the per-client rate limit.
  http::Handler limited(http::Handler handler);
  // Wraps an admin handler: rate limit, then the admin credential.
  http::Handler admin_only(std::function<Result<http::Response>(const http::Request&, const std::string&)> handler);

  AttestationServiceOptions options_;
  attestation::SigningKeys keys_;
  std::unique_ptr<PolicyStore> policies_;
  AdminCredentials admin_;
  std::unique_ptr<NonceIssuer> nonces_;
  const Clock& clock_;
  std::vector<std::unique_ptr<attestation::EvidenceVerifier>> verifiers_;
  RateLimiter limiter_;
  struct Issuer;
  std::atomic<std::shared_ptr<const Issuer>> issuer_;  // set once by set_issuer
  prometheus::Family<prometheus::Counter>* outcomes_ = nullptr;
  prometheus::Family<prometheus::Counter>* rate_limited_ = nullptr;
  prometheus::Family<prometheus::Counter>* policy_changes_ = nullptr;
  prometheus::Family<prometheus::Counter>* admin_auth_failures_ = nullptr;
  prometheus::Family<prometheus::Counter>* key_rotations_ = nullptr;
  prometheus::Family<prometheus::Gauge>* collateral_expiry_ = nullptr;
};

// The problem+json of a refusal: the error's code, status and detail, plus `rule` (the policy rule or
// refusal_rule that failed) and any `extra` members (e.g. format, policy_version).
http::Response refusal_response(const Error& error, std::string_view rule, const http::Request& request,
                                const nlohmann::json& extra = nlohmann::json::object());

}  // namespace cloister::attest

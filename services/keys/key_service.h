#pragma once
// cloister-keys: attested key release (docs/keys.md documents every route).
//
//   POST /keys/{name}/release[?version=N]     (attested caller: mutual TLS + Attestation token)
//       the key sealed with HPKE to the caller's attested HPKE key, or 403 key_release_denied
//       naming the rule of the key's release policy that failed
//   POST /admin/keys                          (admin) create {name, type, policy?, comment?}
//   GET  /admin/keys                          (admin) every key (no material)
//   GET  /admin/keys/{name}                   (admin) one key, its versions (hpke: public keys)
//   POST /admin/keys/{name}/rotate            (admin) a new current version
//   POST /admin/keys/{name}/disable           (admin) never released again
//   GET  /admin/keys/{name}/policy            (admin) the release policy in force
//   PUT  /admin/keys/{name}/policy            (admin) a new policy version {policy, comment?, base_version?}
//   GET  /admin/keys/{name}/policy/versions   (admin) every policy version, newest first
//   GET  /admin/audit?limit=N[&key=NAME]      (admin) the audit log, newest first
// Admin routes need `Authorization: Bearer <admin token>` (service::AdminCredentials). Every
// release, refusal and admin change is in the audit log; cloister_key_releases_total{outcome}
// counts releases ("ok") and refusals (the error code).

#include "audit_log.h"
#include "key_store.h"
#include "key_wrapper.h"

#include "cloister/attestation/token_verifier.h"
#include "cloister/core/clock.h"
#include "cloister/core/config.h"
#include "cloister/http/router.h"
#include "cloister/service/admin_credentials.h"
#include "cloister/service/caller_auth.h"

#include <filesystem>
#include <memory>
#include <vector>

namespace prometheus {
class Registry;
template <class T>
class Family;
class Counter;
}  // namespace prometheus

namespace cloister::keys {

// HPKE info of a release (docs/keys.md): the recipient opens with the same.
inline constexpr std::string_view kReleaseInfo = "cloister-key-release-v1";

struct KeyServiceOptions {
  std::filesystem::path state_dir;        // created 0700
  std::filesystem::path master_key_file;  // empty: <state_dir>/master.key
  std::filesystem::path database_file;    // empty: <state_dir>/keys.sqlite3
  nlohmann::json admin_credentials = nlohmann::json::array();  // admin.credentials
};

// cloister-keys' own options (docs/configuration.md), including its policy.* defaults: the service
// lets every TEE type through to the per-key release policies, which decide.
std::vector<ConfigOption> key_service_options();
// config_invalid when state_dir is empty.
Result<KeyServiceOptions> key_service_options_from(const Config& config);

// The associated data a release is sealed with: name ‖ 0x00 ‖ decimal version ‖ 0x00 ‖ jti.
crypto::Bytes release_aad(std::string_view name, std::uint64_t version, std::string_view jti);

class KeyService {
 public:
  // Opens the state: master key (created on first start), key store, admin credentials.
  static Result<std::unique_ptr<KeyService>> create(const KeyServiceOptions& options, const Clock& clock,
                                                    prometheus::Registry& registry);
  // With a given key wrapper (an HSM or KMS in place of the master key file; tests).
  static Result<std::unique_ptr<KeyService>> create(const KeyServiceOptions& options,
                                                    std::shared_ptr<const KeyWrapper> wrapper, const Clock& clock,
                                                    prometheus::Registry& registry);
  ~KeyService();

  // The admin routes and the attested release route (callers are checked by `callers`, which must
  // outlive the router).
  void add_routes(http::Router& router, const service::CallerAuth& callers);

  KeyStore& store() { return *store_; }
  AuditLog& audit() { return *audit_; }
  const service::AdminCredentials& admin() const { return admin_; }

 private:
  KeyService(std::unique_ptr<KeyStore> store, std::unique_ptr<AuditLog> audit, service::AdminCredentials admin,
             const Clock& clock, prometheus::Registry& registry);

  Result<http::Response> release(const http::Request& request, const service::CallerAuth& callers);
  Result<http::Response> release_to(const http::Request& request, const attestation::VerifiedToken& caller);
  Result<http::Response> admin_create(const http::Request& request, const std::string& who);
  Result<http::Response> admin_list(const http::Request& request, const std::string& who);
  Result<http::Response> admin_get(const http::Request& request, const std::string& who);
  Result<http::Response> admin_rotate(const http::Request& request, const std::string& who);
  Result<http::Response> admin_disable(const http::Request& request, const std::string& who);
  Result<http::Response> admin_policy_get(const http::Request& request, const std::string& who);
  Result<http::Response> admin_policy_put(const http::Request& request, const std::string& who);
  Result<http::Response> admin_policy_versions(const http::Request& request, const std::string& who);
  Result<http::Response> admin_audit(const http::Request& request, const std::string& who);

  http::Handler admin_only(std::function<Result<http::Response>(const http::Request&, const std::string&)> handler);
  // The audit entry of an admin request (who, client, request id).
  static AuditEntry admin_entry(const http::Request& request, const std::string& who);
  // Records a refused or failed release: audit (best effort), metric, log.
  void record_refusal(AuditEntry entry, const Error& error, std::string_view outcome);

  std::unique_ptr<KeyStore> store_;
  std::unique_ptr<AuditLog> audit_;
  service::AdminCredentials admin_;
  const Clock& clock_;
  prometheus::Family<prometheus::Counter>* releases_ = nullptr;
  prometheus::Family<prometheus::Counter>* admin_auth_failures_ = nullptr;
};

}  // namespace cloister::keys

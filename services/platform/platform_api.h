#pragma once
// The hospital-facing API of cloister-platform (docs/platform.md). Every route here runs inside the
// sealed tunnel (POST /v1/sealed, service/sealed_http.h): method, path, the session token and the
// body are sealed to the platform's attested HPKE key, the answer under the key exported from the
// same context. Users log in per hospital (tenant) and act by role:
//
//   clerk      patients (create, read, update, delete, search), studies (submit, list, status, retry)
//   clinician  patients (read, search), studies (list, status), reports, receipts and images
//   admin      the hospital's users, its audit log, its webhook
//
// A record of another hospital answers exactly as an absent one (404 not_found); a route the role
// does not allow answers 403 forbidden. The operator's admin API (outside the tunnel, Bearer admin
// token) only creates hospitals and their first admin: it never reads patient data.

#include "job_runner.h"
#include "platform_store.h"
#include "user_store.h"
#include "webhook_outbox.h"

#include "cloister/http/router.h"
#include "cloister/service/admin_credentials.h"

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace prometheus {
class Registry;
}

namespace cloister::platform {

// A cache of sealed lookups (Redis in the service): it only ever sees ciphertext, and any failure is
// a miss — the platform keeps serving from SQLite without it.
class LookupCache {
 public:
  virtual ~LookupCache() = default;
  virtual std::optional<std::string> get(const std::string& name) = 0;
  virtual void put(const std::string& name, const std::string& value) = 0;
  virtual void remove(const std::string& name) = 0;
};

struct ApiOptions {
  std::size_t max_upload_bytes = 64 * 1024 * 1024;
  std::vector<std::string> models;  // diagnostic models hospitals may choose (platform.models)
  std::string base_url;             // FHIR fullUrl base ("" → relative "Patient/<id>")
};

// What the API needs once the platform holds its data key (set once; until then: 503).
struct Backend {
  std::shared_ptr<sqlite::Database> database;
  std::unique_ptr<UserStore> users;
  std::unique_ptr<PlatformStore> store;
  std::unique_ptr<WebhookOutbox> webhooks;
  std::unique_ptr<JobRunner> jobs;
  std::unique_ptr<LookupCache> cache;  // may be null
};

class PlatformApi {
 public:
  PlatformApi(ApiOptions options, prometheus::Registry& registry);

  // Hands over the ready backend (once). Until then every route answers 503 unavailable.
  void set_backend(Backend* backend) { backend_.store(backend); }

  // The hospital API (goes behind the sealed tunnel).
  void add_routes(http::Router& api);
  // The operator's routes on the outer router: /admin/tenants (Bearer admin token; `authenticate`
  // is AdminCredentials::authenticate in the service).
  using AdminCheck = std::function<Result<std::string>(std::optional<std::string_view> authorization)>;
  void add_admin_routes(http::Router& outer, AdminCheck authenticate);

 private:
  Backend* backend_ptr() const { return backend_.load(); }
  ApiOptions options_;
  std::atomic<Backend*> backend_{nullptr};
  prometheus::Registry& registry_;
};

}  // namespace cloister::platform

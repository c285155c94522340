// cloister-platform: the medical platform's API (docs/platform.md). An attested service: hospitals'
// users reach it through the sealed tunnel (POST /v1/sealed) after verifying its attestation
// (GET /v1/attestation); it keeps patients, studies and reports encrypted under a data key that
// cloister-keys releases only to it, sends images to the diagnostic provider with mutual attestation,
// and notifies hospitals through signed webhooks.
#include "job_runner.h"
#include "platform_api.h"
#include "provider_client.h"
#include "redis_cache.h"

#include "cloister/core/log.h"
#include "cloister/service/attested_service.h"
#include "cloister/service/key_release.h"
#include "cloister/service/sealed_http.h"

#include <nlohmann/json.hpp>
#include <prometheus/registry.h>

#include <filesystem>
#include <iostream>
#include <thread>

using namespace cloister;

namespace {

std::vector<ConfigOption> platform_options() {
  return {
      {"provider.url", "", "Base URL of the diagnostic provider (cloister-infer)"},
      {"provider.measurements", nlohmann::json::array(),
       "Provider builds the platform sends images to: measurements (hex) of approved cloister-infer TEEs"},
      {"provider.timeout_ms", 120000, "Deadline of one diagnosis call to the provider"},
      {"keys.url", "", "Base URL of cloister-keys: the data key and Redis credentials are released there"},
      {"data.key", "cloister-platform-data", "Name of the platform's data key (aes-256) in cloister-keys"},
      {"database.path", "", "SQLite database file; empty: <state_dir>/platform.sqlite3"},
      {"redis.enabled", true, "Cache sealed lookups in Redis (credentials from cloister-keys); off: SQLite only"},
      {"redis.ca_file", "", "CA of the Redis server certificate; empty: tls.ca_file"},
      {"redis.ttl_s", 60, "Lifetime of a cached lookup (seconds); also bounds staleness if an invalidation fails"},
      {"models", nlohmann::json::array({"demo-chest-classifier", "demo-lung-segmenter"}),
       "Diagnostic models hospitals may choose (names at the provider)"},
      {"uploads.max_bytes", 67108864, "Largest study upload (bytes)"},
      {"server.max_body_bytes", 68157440, "Largest accepted request body (a sealed upload: uploads.max_bytes + 1 MiB)"},
      {"jobs.workers", 2, "Diagnosis workers (concurrent provider calls)"},
      {"jobs.max_attempts", 5, "Attempts of a study before it is dead-lettered"},
      {"jobs.backoff_initial_s", 2, "Delay before the second attempt (doubles each time, ±20 % jitter)"},
      {"jobs.backoff_max_s", 300, "Longest delay between attempts"},
      {"jobs.lease_s", 600, "A running attempt older than this is presumed dead and queued again"},
      {"auth.opslimit", 2, "argon2id passes (libsodium opslimit; 2 = INTERACTIVE)"},
      {"auth.memlimit_kib", 65536, "argon2id memory in KiB (65536 = 64 MiB, INTERACTIVE)"},
      {"auth.max_failed_logins", 5, "Consecutive failed logins before an account is locked"},
      {"auth.lockout_s", 900, "How long a locked account stays locked"},
      {"auth.session_ttl_s", 28800, "Absolute lifetime of a session"},
      {"auth.session_idle_s", 1800, "A session unused this long ends"},
      {"auth.min_password_length", 12, "Shortest password accepted"},
      {"webhooks.ca_file", "", "Trust for hospitals' webhook receivers; empty: the system store"},
      {"webhooks.max_attempts", 8, "Delivery attempts of a webhook event before it is marked failed"},
      {"webhooks.allow_http", false, "Allow http:// receivers (development only)"},
      {"admin.credentials", nlohmann::json::array(),
       "Operator bearer credentials [{name, sha256}] for /admin; empty: one generated into <state_dir>/admin-token"},
  };
}

int fatal(const std::string& what, const Error& error) {
  log::error(what, {{"code", error.name()}, {"detail", error.detail}});
  log::flush();
  std::cerr << "cloister-platform: " << what << ": " << error.to_string() << "\n";
  return 1;
}

Result<std::string> read_optional(const std::string& path) {
  if (path.empty()) return std::string();
  return service::read_text_file(path);
}

}  // namespace

// docs/platform-api.md: the routes as declared (scripts/gen-docs.sh).
int print_api_docs() {
  prometheus::Registry registry;
  platform::PlatformApi api({}, registry);
  http::Router inner, outer;
  api.add_routes(inner);
  api.add_admin_routes(outer, [](std::optional<std::string_view>) -> Result<std::string> {
    return fail(ErrorCode::unauthenticated, "documentation only");
  });
  auto cell = [](std::string text) {  // a '|' would end a Markdown table cell
    for (std::size_t at = text.find('|'); at != std::string::npos; at = text.find('|', at + 2)) text.replace(at, 1, "\\|");
    return text;
  };
  auto rows = [&cell](const http::Router& router) {
    for (const auto& route : router.routes()) {
      std::cout << "| " << route.method << " | `" << route.pattern << "` | " << cell(route.summary) << " |\n";
    }
  };
  auto table = [&rows](const http::Router& router) {
    std::cout << "| method | path | what |\n|---|---|---|\n";
    rows(router);
  };
  std::cout << "## Inside the sealed tunnel (POST /v1/sealed; session token as `Authorization: Bearer`)\n\n";
  table(inner);
  std::cout << "\n## Outside the tunnel\n\n"
               "| method | path | what |\n|---|---|---|\n"
               "| POST | `/v1/sealed` | The hospital API, sealed: method, path, session and body inside HPKE |\n"
               "| GET | `/v1/attestation` | The platform's evidence, runtime data and current token, for the portal |\n"
               "| GET | `/v1/provider/check` | Mutual attestation with the diagnostic provider (diagnostic) |\n"
               "| GET | `/attestation`, `/attestation/caller`, `/healthz`, `/readyz`, `/metrics` | as every attested service |\n";
  rows(outer);
  return 0;
}

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--print-api-docs") return print_api_docs();
  }
  service::AttestedService service(
      {"cloister-platform", "CLOISTER_PLATFORM_", "Medical platform API in a TEE", platform_options()}, argc, argv);
  const auto& config = service.config();
  auto& identity = service.identity();

  auto admin =
      service::AdminCredentials::open_and_report(config.get("admin.credentials"), config.get_string("state_dir"));
  if (!admin) return fatal("admin credentials", admin.error());
  const auto keys_url = config.get_string("keys.url");
  if (keys_url.empty()) return fatal("configuration", Error{ErrorCode::config_invalid, "keys.url is required (the data key)"});
  platform::ProviderOptions provider_options{config.get_string("provider.url"), config.get_strings("provider.measurements"),
                                             std::chrono::milliseconds(config.get_int("provider.timeout_ms"))};
  if (!provider_options.url.empty() && provider_options.measurements.empty()) {
    return fatal("configuration", Error{ErrorCode::config_invalid,
                                        "provider.measurements is empty: no provider build is approved to receive images"});
  }
  auto redis_ca = read_optional(config.get_string("redis.ca_file").empty() ? config.get_string("tls.ca_file")
                                                                           : config.get_string("redis.ca_file"));
  if (!redis_ca) return fatal("redis.ca_file", redis_ca.error());
  auto webhook_ca = read_optional(config.get_string("webhooks.ca_file"));
  if (!webhook_ca) return fatal("webhooks.ca_file", webhook_ca.error());

  platform::ApiOptions api_options;
  api_options.max_upload_bytes = static_cast<std::size_t>(config.get_int("uploads.max_bytes"));
  api_options.models = config.get_strings("models");
  platform::PlatformApi api(api_options, service.metrics().registry());

  // The tunnel: the hospital API runs only inside sealed messages to the attested HPKE key.
  http::Router inner;
  api.add_routes(inner);
  service.router().add("POST", "/v1/sealed", service::sealed_tunnel(identity.hpke_private_key(), inner),
                       "The hospital API, sealed: method, path, session and body inside HPKE (docs/platform.md)");
  service.router().add("GET", "/v1/attestation", identity.attestation_handler(),
                       "The platform's evidence, runtime data and current token, for the portal");
  api.add_admin_routes(service.router(), [&admin](std::optional<std::string_view> authorization) {
    return admin->authenticate(authorization);
  });

  auto verifier = service.callers().verifier();
  platform::ProviderClient provider(provider_options, identity, verifier);
  service.router().add("GET", "/v1/provider/check",
                       [&provider](const http::Request&) -> Result<http::Response> {
                         auto result = provider.call("GET", "/attestation/caller");
                         if (!result) return std::unexpected(result.error());
                         return http::json_response(200, *result);
                       },
                       "Mutual attestation with the diagnostic provider: verify it, then call it with the platform's token");

  // Bring-up once the platform holds its token: the data key, the database, the workers.
  platform::Backend backend;
  service.set_available(false);
  std::jthread bring_up([&](std::stop_token stop) {
    auto sleep = [&stop](std::chrono::milliseconds duration) {
      for (auto waited = std::chrono::milliseconds(0); waited < duration && !stop.stop_requested();
           waited += std::chrono::milliseconds(50)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    };
    std::optional<service::ReleasedKey> data_key;
    for (auto delay = std::chrono::milliseconds(200); !stop.stop_requested();
         delay = std::min(delay * 2, std::chrono::milliseconds(10000))) {
      if (identity.has_token()) {
        auto released = service::release_key(identity, keys_url, config.get_string("data.key"));
        if (released && released->type == "aes-256") {
          data_key = std::move(*released);
          break;
        }
        log::warn("the data key was not released; retrying",
                  {{"key", config.get_string("data.key")},
                   {"code", released ? std::string("key_type") : std::string(released.error().name())}});
      }
      sleep(delay);
    }
    if (!data_key) return;
    auto cipher = platform::RecordCipher::create(data_key->material);
    crypto::cleanse(data_key->material.reveal());
    if (!cipher) {
      fatal("data key", cipher.error());
      return;
    }
    auto shared_cipher = std::make_shared<const platform::RecordCipher>(std::move(*cipher));
    auto path = config.get_string("database.path");
    if (path.empty()) path = (std::filesystem::path(config.get_string("state_dir")) / "platform.sqlite3").string();
    auto database = sqlite::Database::open(path);
    if (!database) {
      fatal("database", database.error());
      return;
    }
    backend.database = std::move(*database);
    platform::AuthOptions auth;
    auth.opslimit = static_cast<std::uint64_t>(config.get_int("auth.opslimit"));
    auth.memlimit = static_cast<std::size_t>(config.get_int("auth.memlimit_kib")) * 1024;
    auth.max_failed_logins = static_cast<int>(config.get_int("auth.max_failed_logins"));
    auth.lockout = std::chrono::seconds(config.get_int("auth.lockout_s"));
    auth.session_ttl = std::chrono::seconds(config.get_int("auth.session_ttl_s"));
    auth.session_idle = std::chrono::seconds(config.get_int("auth.session_idle_s"));
    auth.min_password_length = static_cast<std::size_t>(config.get_int("auth.min_password_length"));
    auto users = platform::UserStore::open(backend.database, SystemClock::instance(), auth);
    if (!users) {
      fatal("user store", users.error());
      return;
    }
    backend.users = std::move(*users);
    auto store = platform::PlatformStore::open(backend.database, shared_cipher, SystemClock::instance());
    if (!store) {
      fatal("record store", store.error());
      return;
    }
    backend.store = std::move(*store);
    platform::WebhookOptions webhook_options;
    webhook_options.ca_pem = *webhook_ca;
    webhook_options.max_attempts = static_cast<int>(config.get_int("webhooks.max_attempts"));
    webhook_options.allow_plain_http = config.get_bool("webhooks.allow_http");
    backend.webhooks = std::make_unique<platform::WebhookOutbox>(backend.database, shared_cipher, webhook_options,
                                                                 SystemClock::instance(), service.metrics().registry());
    if (config.get_bool("redis.enabled")) {
      platform::RedisCacheOptions cache_options;
      cache_options.keys_url = keys_url;
      cache_options.ca_pem = *redis_ca;
      cache_options.ttl = std::chrono::seconds(config.get_int("redis.ttl_s"));
      backend.cache = std::make_unique<platform::RedisLookupCache>(identity, shared_cipher->cache_key(), cache_options,
                                                                   service.metrics().registry());
    }
    if (auto recovered = backend.store->recover_running(); recovered && *recovered > 0) {
      log::info("queued again the studies a previous run left running", {{"studies", *recovered}});
    }
    platform::JobOptions job_options;
    job_options.workers = static_cast<int>(config.get_int("jobs.workers"));
    job_options.max_attempts = static_cast<int>(config.get_int("jobs.max_attempts"));
    job_options.backoff_initial = std::chrono::seconds(config.get_int("jobs.backoff_initial_s"));
    job_options.backoff_max = std::chrono::seconds(config.get_int("jobs.backoff_max_s"));
    job_options.lease = std::chrono::seconds(config.get_int("jobs.lease_s"));
    auto* webhooks = backend.webhooks.get();
    backend.jobs = std::make_unique<platform::JobRunner>(
        *backend.store,
        [&provider](const platform::Job& job) { return provider.diagnose(job.model, job.media_type, job.image); },
        job_options, SystemClock::instance(), service.metrics().registry(), [webhooks] { webhooks->notify(); });
    backend.webhooks->start();
    backend.jobs->start();
    api.set_backend(&backend);
    service.set_available(true);
    log::info("the platform holds its data key and serves", {{"database", path}});
  });

  const int status = service.run();
  bring_up.request_stop();
  if (bring_up.joinable()) bring_up.join();
  api.set_backend(nullptr);
  if (backend.jobs) backend.jobs->stop();
  if (backend.webhooks) backend.webhooks->stop();
  return status;
}

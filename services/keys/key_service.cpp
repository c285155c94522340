#include "key_service.h"

#include "cloister/core/log.h"
#include "cloister/core/private_files.h"
#include "cloister/crypto/base64.h"
#include "cloister/crypto/hpke.h"

#include <nlohmann/json.hpp>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <charconv>

namespace cloister::keys {
namespace {

constexpr std::string_view kAdminRealm = "Bearer realm=\"cloister-keys admin\"";
constexpr std::string_view kSuiteName = "HPKE-Base-X25519-SHA256-AES256GCM";
constexpr std::size_t kDefaultAuditLimit = 100;

// The problem+json of a refusal, with `rule` and any `extra` members (attest's refusal shape).
http::Response refusal_response(const Error& error, std::string_view rule, const http::Request& request,
                                const nlohmann::json& extra = nlohmann::json::object()) {
  auto response = http::problem_response(error, request.request_id, request.path);
  auto problem = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!problem.is_object()) return response;
  problem["rule"] = std::string(rule);
  for (const auto& [key, value] : extra.items()) {
    if (!problem.contains(key)) problem[key] = value;
  }
  response.body = problem.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

// A positive decimal integer (no sign, no leading '+', at most 15 digits).
std::optional<std::uint64_t> parse_version(std::string_view text) {
  if (text.empty() || text.size() > 15) return std::nullopt;
  std::uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value == 0) return std::nullopt;
  return value;
}

Result<nlohmann::json> object_body(const http::Request& request) {
  auto body = request.json();
  if (!body) return std::unexpected(body.error());
  if (!body->is_object()) return fail(ErrorCode::invalid_json, "the body must be a JSON object");
  return body;
}

Result<std::string> optional_string(const nlohmann::json& body, const char* name) {
  if (!body.contains(name)) return std::string();
  if (!body[name].is_string()) return fail(ErrorCode::invalid_json, std::string(name) + " must be a string");
  return body[name].get<std::string>();
}

}  // namespace

std::vector<ConfigOption> key_service_options() {
  return {
      {"master_key_file", "",
       "Master key (32 bytes, mode 0600) wrapping every key at rest; empty: <state_dir>/master.key, generated on "
       "first start (docs/keys.md: an HSM or KMS instead)"},
      {"database_file", "", "Key store and audit log (SQLite, WAL); empty: <state_dir>/keys.sqlite3"},
      {"admin.credentials", nlohmann::json::array(),
       "Admin credentials [{name, sha256 of the bearer token}]; empty: one is generated into state_dir/admin-token"},
      // The service-level relying-party policy lets every TEE through: each key's release policy decides.
      {"policy.tee_types", nlohmann::json::array({"sgx", "tdx", "snp", "sim"}),
       "Caller TEE types let through to the per-key release policies (which decide; docs/keys.md)"},
      {"policy.allow_debug", true, "Let debuggable caller TEEs through to the per-key release policies"},
      {"policy.allow_simulated", true,
       "Let sim-TEE callers through to the per-key release policies (each refuses sim unless a clause allows it)"},
      {"policy.tcb_statuses",
       nlohmann::json::array({"UpToDate", "SWHardeningNeeded", "ConfigurationNeeded",
                              "ConfigurationAndSWHardeningNeeded", "OutOfDate", "OutOfDateConfigurationNeeded",
                              "Revoked", "Simulated"}),
       "Caller TCB statuses let through to the per-key release policies"},
  };
}

Result<KeyServiceOptions> key_service_options_from(const Config& config) {
  KeyServiceOptions options;
  options.state_dir = config.get_string("state_dir");
  if (options.state_dir.empty()) return fail(ErrorCode::config_invalid, "state_dir is required");
  options.master_key_file = config.get_string("master_key_file");
  options.database_file = config.get_string("database_file");
  options.admin_credentials = config.get("admin.credentials");
  return options;
}

crypto::Bytes release_aad(std::string_view name, std::uint64_t version, std::string_view jti) {
  crypto::Bytes aad(name.begin(), name.end());
  aad.push_back(0);
  const auto digits = std::to_string(version);
  aad.insert(aad.end(), digits.begin(), digits.end());
  aad.push_back(0);
  aad.insert(aad.end(), jti.begin(), jti.end());
  return aad;
}

Result<std::unique_ptr<KeyService>> KeyService::create(const KeyServiceOptions& options, const Clock& clock,
                                                       prometheus::Registry& registry) {
  if (options.state_dir.empty()) return fail(ErrorCode::config_invalid, "state_dir is required");
  if (auto ready = ensure_private_directory(options.state_dir); !ready) return std::unexpected(ready.error());
  const auto path = options.master_key_file.empty() ? options.state_dir / "master.key" : options.master_key_file;
  bool created = false;
  auto master = FileMasterKey::load_or_create(path, &created);
  if (!master) return std::unexpected(master.error());
  if (created) {
    // The path, never the key.
    log::warn("master key generated: keep this file owner-only and back it up apart from the key store",
              {{"path", path.string()}});
  }
  return create(options, std::shared_ptr<const KeyWrapper>(std::move(*master)), clock, registry);
}

Result<std::unique_ptr<KeyService>> KeyService::create(const KeyServiceOptions& options,
                                                       std::shared_ptr<const KeyWrapper> wrapper, const Clock& clock,
                                                       prometheus::Registry& registry) {
  if (options.state_dir.empty()) return fail(ErrorCode::config_invalid, "state_dir is required");
  if (auto ready = ensure_private_directory(options.state_dir); !ready) return std::unexpected(ready.error());
  const auto database_path =
      options.database_file.empty() ? options.state_dir / "keys.sqlite3" : options.database_file;
  auto database = Database::open(database_path);
  if (!database) return std::unexpected(database.error());
  std::shared_ptr<Database> shared_database = std::move(*database);
  auto store = KeyStore::open(shared_database, std::move(wrapper), clock);
  if (!store) return std::unexpected(store.error());
  auto audit = std::make_unique<AuditLog>(shared_database, clock);
  auto admin = service::AdminCredentials::open_and_report(options.admin_credentials, options.state_dir);
  if (!admin) return std::unexpected(admin.error());
  return std::unique_ptr<KeyService>(
      new KeyService(std::move(*store), std::move(audit), std::move(*admin), clock, registry));
}

KeyService::KeyService(std::unique_ptr<KeyStore> store, std::unique_ptr<AuditLog> audit,
                       service::AdminCredentials admin, const Clock& clock, prometheus::Registry& registry)
    : store_(std::move(store)), audit_(std::move(audit)), admin_(std::move(admin)), clock_(clock) {
  releases_ = &prometheus::BuildCounter()
                   .Name("cloister_key_releases_total")
                   .Help("Key release requests, by outcome (ok, or the error code of the refusal)")
                   .Register(registry);
  admin_auth_failures_ = &prometheus::BuildCounter()
                              .Name("cloister_keys_admin_auth_failures_total")
                              .Help("Admin requests refused for a missing or invalid credential")
                              .Register(registry);
}

KeyService::~KeyService() = default;

AuditEntry KeyService::admin_entry(const http::Request& request, const std::string& who) {
  AuditEntry entry;
  entry.actor_type = actor_type::kAdmin;
  entry.actor = who;
  entry.client = request.remote_address;
  entry.request_id = request.request_id;
  return entry;
}

void KeyService::record_refusal(AuditEntry entry, const Error& error, std::string_view outcome) {
  entry.outcome = std::string(outcome);
  entry.code = std::string(error.name());
  if (entry.detail.empty()) entry.detail = error.detail;
  releases_->Add({{"outcome", std::string(error.name())}}).Increment();
  if (auto appended = audit_->append(std::move(entry)); !appended) {
    log::error("audit entry not written", {{"code", appended.error().name()}, {"detail", appended.error().detail}});
  }
}

Result<http::Response> KeyService::release(const http::Request& request, const service::CallerAuth& callers) {
  // CallerAuth::require checks the token (signature, issuer, expiry, the service-level policy) and
  // the channel binding; a caller it refuses never reaches release_to, and is audited here.
  bool reached = false;
  auto guarded = callers.require([&](const http::Request& inner, const attestation::VerifiedToken& caller) {
    reached = true;
    return release_to(inner, caller);
  });
  auto result = guarded(request);
  if (!reached) {
    AuditEntry entry;
    entry.actor_type = actor_type::kUnauthenticated;
    entry.client = request.remote_address;
    entry.action = audit_action::kRelease;
    entry.request_id = request.request_id;
    if (const auto name = request.param("name"); is_key_name(name)) entry.key = std::string(name);
    record_refusal(std::move(entry), result ? Error{ErrorCode::internal, "refused"} : result.error(),
                   audit_outcome::kRefused);
  }
  return result;
}

Result<http::Response> KeyService::release_to(const http::Request& request, const attestation::VerifiedToken& caller) {
  AuditEntry entry;
  entry.actor_type = actor_type::kAttested;
  entry.actor = caller.jti;
  entry.tee = caller.tee;
  entry.measurement = caller.claims.value("measurement", std::string());
  entry.client = request.remote_address;
  entry.action = audit_action::kRelease;
  entry.request_id = request.request_id;
  auto error_out = [&](Error error) -> Result<http::Response> {
    record_refusal(entry, error, audit_outcome::kError);
    return std::unexpected(std::move(error));
  };

  const std::string name(request.param("name"));
  if (!is_key_name(name)) return error_out(Error{ErrorCode::invalid_argument, "invalid key name"});
  entry.key = name;
  std::optional<std::uint64_t> version;
  if (auto it = request.query.find("version"); it != request.query.end()) {
    version = parse_version(it->second);
    if (!version) return error_out(Error{ErrorCode::invalid_argument, "version must be a positive integer"});
    entry.key_version = static_cast<std::int64_t>(*version);
  }
  auto key = store_->summary(name);
  if (!key) return error_out(key.error());

  const auto& policy = key->policy;
  nlohmann::json extra = {{"key", name}, {"policy_version", policy.version}, {"policy_hash", policy.hash}};
  auto deny = [&](const Error& error, const std::string& rule, nlohmann::json failures) -> Result<http::Response> {
    entry.rule = rule;
    entry.detail = error.detail;
    record_refusal(entry, error, audit_outcome::kDenied);
    log::warn("key release denied", {{"request_id", request.request_id},
                                     {"key", name},
                                     {"jti", caller.jti},
                                     {"rule", rule},
                                     {"detail", error.detail}});
    extra["failures"] = std::move(failures);
    return refusal_response(error, rule, request, extra);
  };
  if (key->disabled_at) {
    return deny(Error{ErrorCode::key_release_denied, "the key is disabled"}, "disabled", nlohmann::json::array());
  }
  const auto decision = policy.policy.evaluate(caller.claims);
  if (!decision.allowed) {
    std::string detail;
    nlohmann::json failures = nlohmann::json::array();
    for (const auto& failure : decision.failures) {
      if (!detail.empty()) detail += "; ";
      detail += failure.clause + ": " + failure.detail;
      failures.push_back(failure.to_json());
    }
    return deny(Error{ErrorCode::key_release_denied, detail}, decision.failed_rule(), std::move(failures));
  }

  auto material = store_->material(name, version);
  if (!material) return error_out(material.error());
  entry.key_version = static_cast<std::int64_t>(material->version);
  auto sealed = crypto::hpke::seal(crypto::hpke::kDefaultSuite, caller.hpke_public_key, crypto::as_bytes(kReleaseInfo),
                                   release_aad(name, material->version, caller.jti), material->material.reveal());
  crypto::cleanse(material->material.reveal());
  if (!sealed) return error_out(Error{ErrorCode::internal, "sealing to the caller's HPKE key failed"});

  // Audited before the key leaves: a release that cannot be audited does not happen.
  entry.outcome = std::string(audit_outcome::kOk);
  entry.detail = "clause " + decision.clause + ", policy version " + std::to_string(policy.version);
  if (auto appended = audit_->append(entry); !appended) {
    log::error("audit entry not written: release withheld",
               {{"code", appended.error().name()}, {"detail", appended.error().detail}});
    releases_->Add({{"outcome", std::string(error_name(ErrorCode::internal))}}).Increment();
    return fail(ErrorCode::internal, "the release could not be audited");
  }
  releases_->Add({{"outcome", "ok"}}).Increment();
  nlohmann::json body = {{"name", name},
                         {"version", material->version},
                         {"type", key_type_name(material->type)},
                         {"suite", kSuiteName},
                         {"info", kReleaseInfo},
                         {"enc", crypto::base64url_encode(sealed->enc)},
                         {"ciphertext", crypto::base64url_encode(sealed->ciphertext)},
                         {"jti", caller.jti}};
  if (!material->public_key.empty()) body["public_key"] = crypto::base64url_encode(material->public_key);
  auto response = http::json_response(200, body);
  response.set_header("Cache-Control", "no-store");
  return response;
}

Result<http::Response> KeyService::admin_create(const http::Request& request, const std::string& who) {
  auto body = object_body(request);
  if (!body) return std::unexpected(body.error());
  for (const auto& [member, value] : body->items()) {
    if (member != "name" && member != "type" && member != "policy" && member != "comment") {
      return fail(ErrorCode::invalid_json, "unknown member " + member.substr(0, 32));
    }
  }
  if (!body->contains("name") || !(*body)["name"].is_string()) return fail(ErrorCode::invalid_json, "name (string) is required");
  if (!body->contains("type") || !(*body)["type"].is_string()) return fail(ErrorCode::invalid_json, "type (string) is required");
  const auto name = (*body)["name"].get<std::string>();
  auto type = parse_key_type((*body)["type"].get<std::string>());
  if (!type) return fail(ErrorCode::invalid_argument, "type must be aes-256, model-aes-256 or hpke-x25519");
  auto policy = body->contains("policy") ? ReleasePolicy::from_json((*body)["policy"]) : ReleasePolicy::default_policy();
  if (!policy) return std::unexpected(policy.error());
  auto comment = optional_string(*body, "comment");
  if (!comment) return std::unexpected(comment.error());
  auto info = store_->create(name, *type, *policy, *comment, admin_entry(request, who));
  if (!info) return std::unexpected(info.error());
  return http::json_response(201, info->to_json());
}

Result<http::Response> KeyService::admin_list(const http::Request&, const std::string&) {
  auto keys = store_->list();
  if (!keys) return std::unexpected(keys.error());
  nlohmann::json list = nlohmann::json::array();
  for (const auto& key : *keys) list.push_back(key.to_json());
  return http::json_response(200, {{"keys", std::move(list)}});
}

Result<http::Response> KeyService::admin_get(const http::Request& request, const std::string&) {
  auto info = store_->describe(request.param("name"));
  if (!info) return std::unexpected(info.error());
  return http::json_response(200, info->to_json());
}

Result<http::Response> KeyService::admin_rotate(const http::Request& request, const std::string& who) {
  auto info = store_->rotate(request.param("name"), admin_entry(request, who));
  if (!info) return std::unexpected(info.error());
  return http::json_response(200, info->to_json());
}

Result<http::Response> KeyService::admin_disable(const http::Request& request, const std::string& who) {
  auto info = store_->disable(request.param("name"), admin_entry(request, who));
  if (!info) return std::unexpected(info.error());
  return http::json_response(200, info->to_json());
}

Result<http::Response> KeyService::admin_policy_get(const http::Request& request, const std::string&) {
  auto info = store_->summary(request.param("name"));
  if (!info) return std::unexpected(info.error());
  return http::json_response(200, info->policy.to_json());
}

Result<http::Response> KeyService::admin_policy_put(const http::Request& request, const std::string& who) {
  auto body = object_body(request);
  if (!body) return std::unexpected(body.error());
  // {"policy": {…}, "comment": "…", "base_version": N}, or a bare release policy (which never has a
  // "policy" member).
  nlohmann::json document = *body;
  std::string comment;
  std::optional<std::uint64_t> base_version;
  if (body->contains("policy")) {
    for (const auto& [member, value] : body->items()) {
      if (member != "policy" && member != "comment" && member != "base_version") {
        return fail(ErrorCode::invalid_json, "unknown member " + member.substr(0, 32));
      }
    }
    document = (*body)["policy"];
    auto text = optional_string(*body, "comment");
    if (!text) return std::unexpected(text.error());
    comment = std::move(*text);
    if (body->contains("base_version")) {
      if (!(*body)["base_version"].is_number_unsigned()) {
        return fail(ErrorCode::invalid_json, "base_version must be a positive integer");
      }
      base_version = (*body)["base_version"].get<std::uint64_t>();
    }
  }
  auto policy = ReleasePolicy::from_json(document);
  if (!policy) return std::unexpected(policy.error());
  auto change = store_->set_policy(request.param("name"), *policy, comment, base_version, admin_entry(request, who));
  if (!change) return std::unexpected(change.error());
  auto response = change->version.to_json();
  response["changed"] = change->changed;
  return http::json_response(200, response);
}

Result<http::Response> KeyService::admin_policy_versions(const http::Request& request, const std::string&) {
  const std::string name(request.param("name"));
  auto versions = store_->policy_versions(name);
  if (!versions) return std::unexpected(versions.error());
  nlohmann::json list = nlohmann::json::array();
  for (auto it = versions->rbegin(); it != versions->rend(); ++it) list.push_back(it->to_json());
  return http::json_response(200, {{"key", name},
                                   {"current", versions->empty() ? 0 : versions->back().version},
                                   {"versions", std::move(list)}});
}

Result<http::Response> KeyService::admin_audit(const http::Request& request, const std::string&) {
  std::size_t limit = kDefaultAuditLimit;
  if (auto it = request.query.find("limit"); it != request.query.end()) {
    auto parsed = parse_version(it->second);
    if (!parsed || *parsed > AuditLog::kMaxList) return fail(ErrorCode::invalid_argument, "limit must be 1-1000");
    limit = static_cast<std::size_t>(*parsed);
  }
  std::string key;
  if (auto it = request.query.find("key"); it != request.query.end()) {
    if (!is_key_name(it->second)) return fail(ErrorCode::invalid_argument, "invalid key name");
    key = it->second;
  }
  auto entries = audit_->recent(limit, key);
  if (!entries) return std::unexpected(entries.error());
  nlohmann::json list = nlohmann::json::array();
  for (const auto& entry : *entries) list.push_back(entry.to_json());
  return http::json_response(200, {{"entries", std::move(list)}});
}

http::Handler KeyService::admin_only(
    std::function<Result<http::Response>(const http::Request&, const std::string&)> handler) {
  return [this, handler = std::move(handler)](const http::Request& request) -> Result<http::Response> {
    auto who = admin_.authenticate(request.header("Authorization"));
    if (!who) {
      admin_auth_failures_->Add({}).Increment();
      log::warn("admin authentication failed", {{"request_id", request.request_id}, {"client", request.remote_address}});
      auto response = refusal_response(who.error(), "admin_credential", request);
      response.set_header("WWW-Authenticate", std::string(kAdminRealm));
      return response;
    }
    return handler(request, *who);
  };
}

void KeyService::add_routes(http::Router& router, const service::CallerAuth& callers) {
  router.add(
      "POST", "/keys/{name}/release",
      [this, &callers](const http::Request& request) { return release(request, callers); },
      "Attested caller (mutual TLS + Attestation token): the key sealed with HPKE to the caller's attested key, "
      "if the key's release policy admits the token ([?version=N])");
  auto admin = [this](auto method) {
    return admin_only([this, method](const http::Request& request, const std::string& who) {
      return (this->*method)(request, who);
    });
  };
  router.add("POST", "/admin/keys", admin(&KeyService::admin_create),
             "Admin: create a key {name, type (aes-256, model-aes-256, hpke-x25519), policy, comment}");
  router.add("GET", "/admin/keys", admin(&KeyService::admin_list), "Admin: every key (never material)");
  router.add("GET", "/admin/keys/{name}", admin(&KeyService::admin_get),
             "Admin: one key, its versions (hpke-x25519: public keys) and the policy in force");
  router.add("POST", "/admin/keys/{name}/rotate", admin(&KeyService::admin_rotate),
             "Admin: a new current version (old versions stay releasable by explicit version)");
  router.add("POST", "/admin/keys/{name}/disable", admin(&KeyService::admin_disable),
             "Admin: disable a key for good (it is never released again)");
  router.add("GET", "/admin/keys/{name}/policy", admin(&KeyService::admin_policy_get),
             "Admin: the key's release policy in force");
  router.add("PUT", "/admin/keys/{name}/policy", admin(&KeyService::admin_policy_put),
             "Admin: a new release-policy version {policy, comment, base_version}");
  router.add("GET", "/admin/keys/{name}/policy/versions", admin(&KeyService::admin_policy_versions),
             "Admin: every release-policy version of a key, newest first");
  router.add("GET", "/admin/audit", admin(&KeyService::admin_audit),
             "Admin: the audit log, newest first (?limit=N, 1-1000, default 100; ?key=NAME)");
}

}  // namespace cloister::keys

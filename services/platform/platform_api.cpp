#include "platform_api.h"

#include "fhir.h"

#include "cloister/core/log.h"
#include "cloister/imaging/upload.h"

#include <openssl/crypto.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <charconv>

namespace cloister::platform {

namespace {

using http::Request;
using http::Response;

constexpr std::string_view kFhirJson = "application/fhir+json";

void wipe(std::string& text) {
  if (!text.empty()) OPENSSL_cleanse(text.data(), text.size());
  text.clear();
}

Actor actor_of(const Session& session, const Request& request) {
  return Actor{session.tenant, session.username, session.session_id, request.remote_address, request.request_id};
}

Response fhir_response(int status, const nlohmann::json& body) {
  auto response = http::json_response(status, body);
  response.set_header("Content-Type", std::string(kFhirJson));
  return response;
}

Response no_content() {
  Response response;
  response.status = 204;
  return response;
}

std::optional<std::int64_t> parse_int(std::string_view text) {
  std::int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// If-Match: W/"3" or "3".
Result<std::optional<std::int64_t>> if_match(const Request& request) {
  auto header = request.header("If-Match");
  if (!header) return std::optional<std::int64_t>();
  std::string_view value = *header;
  if (value.starts_with("W/")) value.remove_prefix(2);
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
  auto version = parse_int(value);
  if (!version) return fail(ErrorCode::invalid_argument, "If-Match must be a version ETag such as W/\"3\"");
  return std::optional<std::int64_t>(*version);
}

nlohmann::json patient_json(const PatientRecord& record) {
  return fhir::with_meta(record.resource, record.id, record.version, record.updated_at);
}

Response patient_response(int status, const PatientRecord& record) {
  auto response = fhir_response(status, patient_json(record));
  response.set_header("ETag", "W/\"" + std::to_string(record.version) + "\"");
  response.set_header("Location", "/v1/fhir/Patient/" + record.id + "/_history/" + std::to_string(record.version));
  return response;
}

nlohmann::json roles_json(std::span<const Role> roles) {
  nlohmann::json out = nlohmann::json::array();
  for (auto role : roles) out.push_back(std::string(role_name(role)));
  return out;
}

nlohmann::json user_json(const User& user, std::int64_t now) {
  const auto roles = roles_json(user.roles);
  nlohmann::json out = {{"username", user.username},   {"roles", roles},
                        {"disabled", user.disabled},   {"locked", user.locked_at(now)},
                        {"failed_logins", user.failed_logins}, {"created_at", user.created_at},
                        {"updated_at", user.updated_at}, {"password_changed_at", user.password_changed_at}};
  if (user.locked_until) out["locked_until"] = *user.locked_until;
  return out;
}

Result<std::vector<Role>> roles_from(const nlohmann::json& value) {
  if (!value.is_array() || value.empty()) return fail(ErrorCode::invalid_argument, "roles: a non-empty list of clerk, clinician, admin");
  std::string list;
  for (const auto& role : value) {
    if (!role.is_string()) return fail(ErrorCode::invalid_argument, "roles: a non-empty list of clerk, clinician, admin");
    if (!list.empty()) list += ",";
    list += role.get<std::string>();
  }
  auto roles = parse_roles(list);
  if (!roles) return fail(ErrorCode::invalid_argument, "roles: a non-empty list of clerk, clinician, admin (no repeats)");
  return *roles;
}

Result<std::string> string_member(const nlohmann::json& body, const char* name) {
  if (!body.is_object() || !body.contains(name) || !body[name].is_string()) {
    return fail(ErrorCode::invalid_json, std::string("the member \"") + name + "\" (a string) is required");
  }
  return body[name].get<std::string>();
}

}  // namespace

PlatformApi::PlatformApi(ApiOptions options, prometheus::Registry& registry)
    : options_(std::move(options)), registry_(registry) {}

void PlatformApi::add_routes(http::Router& api) {
  using SessionHandler = std::function<Result<Response>(const Request&, Backend&, const Session&)>;
  // Runs `handler` for a valid session holding one of `roles` (empty: any role).
  auto authorized = [this](std::vector<Role> roles, SessionHandler handler) -> http::Handler {
    return [this, roles = std::move(roles), handler = std::move(handler)](const Request& request) -> Result<Response> {
      Backend* backend = backend_ptr();
      if (backend == nullptr) return fail(ErrorCode::unavailable, "the platform is starting: its data key is not released yet");
      auto header = request.header("Authorization");
      if (!header || !header->starts_with("Bearer ") || header->size() <= 7) {
        return fail(ErrorCode::unauthenticated, "log in first: Authorization: Bearer <session token>");
      }
      auto session = backend->users->authenticate(header->substr(7));
      if (!session) return std::unexpected(session.error());
      if (!roles.empty() && std::none_of(roles.begin(), roles.end(), [&](Role role) { return session->has(role); })) {
        (void)backend->store->record(actor_of(*session, request), "access.denied", "", request.path, "forbidden");
        return fail(ErrorCode::forbidden, "your role does not allow this");
      }
      return handler(request, *backend, *session);
    };
  };
  const std::vector<Role> clerk = {Role::clerk};
  const std::vector<Role> readers = {Role::clerk, Role::clinician};
  const std::vector<Role> clinician = {Role::clinician};
  const std::vector<Role> admin = {Role::admin};

  // --- sessions ---
  api.add("POST", "/v1/login", [this](const Request& request) -> Result<Response> {
    Backend* backend = backend_ptr();
    if (backend == nullptr) return fail(ErrorCode::unavailable, "the platform is starting: its data key is not released yet");
    auto body = request.json();
    if (!body) return std::unexpected(body.error());
    auto tenant = string_member(*body, "tenant");
    auto username = string_member(*body, "username");
    auto password = string_member(*body, "password");
    if (!tenant || !username || !password) {
      if (password) wipe(*password);
      return fail(ErrorCode::invalid_json, "login takes {\"tenant\", \"username\", \"password\"}");
    }
    auto result = backend->users->login(*tenant, *username, Sensitive<std::string>(std::move(*password)));
    const bool known_tenant = backend->users->tenant(*tenant).has_value();
    if (known_tenant) {
      Actor actor{*tenant, *username, result ? result->session.session_id : "", request.remote_address, request.request_id};
      (void)backend->store->record(actor, "login", "User", *username, result ? "ok" : result.error().name());
    }
    if (!result) return std::unexpected(result.error());
    const auto roles = roles_json(result->session.roles);
    return http::json_response(200, {{"token", result->token.reveal()},
                                     {"token_type", "Bearer"},
                                     {"expires_at", result->session.expires_at},
                                     {"user", {{"tenant", *tenant}, {"username", *username}, {"roles", roles}}}});
  }, "Log in: {tenant, username, password} → a session token (argon2id, lock-out after repeated failures)");

  api.add("POST", "/v1/logout", authorized({}, [](const Request& request, Backend& backend, const Session& session) -> Result<Response> {
    auto header = request.header("Authorization");
    if (auto status = backend.users->logout(header->substr(7)); !status) return std::unexpected(status.error());
    (void)backend.store->record(actor_of(session, request), "logout", "User", session.username, "ok");
    return no_content();
  }), "End the session");

  api.add("GET", "/v1/me", authorized({}, [](const Request&, Backend&, const Session& session) -> Result<Response> {
    const auto roles = roles_json(session.roles);
    return http::json_response(200, {{"tenant", session.tenant}, {"username", session.username}, {"roles", roles},
                                     {"session", {{"id", session.session_id}, {"created_at", session.created_at},
                                                  {"expires_at", session.expires_at}}}});
  }), "The logged-in user, roles and session");

  api.add("POST", "/v1/me/password", authorized({}, [](const Request& request, Backend& backend, const Session& session) -> Result<Response> {
    auto body = request.json();
    if (!body) return std::unexpected(body.error());
    auto current = string_member(*body, "current");
    auto replacement = string_member(*body, "new");
    if (!current || !replacement) return fail(ErrorCode::invalid_json, "takes {\"current\", \"new\"}");
    // The other sessions end; this one (the token that made the change) stays.
    auto status = backend.users->change_password(session.tenant, session.username, Sensitive<std::string>(std::move(*current)),
                                                 Sensitive<std::string>(std::move(*replacement)),
                                                 request.header("Authorization")->substr(7));
    (void)backend.store->record(actor_of(session, request), "user.password.change", "User", session.username,
                                status ? "ok" : status.error().name());
    if (!status) return std::unexpected(status.error());
    return no_content();
  }), "Change one's own password: {current, new}");

  // --- users (admin) ---
  api.add("GET", "/v1/users", authorized(admin, [](const Request&, Backend& backend, const Session& session) -> Result<Response> {
    auto users = backend.users->users(session.tenant);
    if (!users) return std::unexpected(users.error());
    const auto now = SystemClock::instance().unix_seconds();
    nlohmann::json out = nlohmann::json::array();
    for (const auto& user : *users) out.push_back(user_json(user, now));
    return http::json_response(200, {{"users", out}});
  }), "The hospital's users (admin)");

  api.add("POST", "/v1/users", authorized(admin, [](const Request& request, Backend& backend, const Session& session) -> Result<Response> {
    auto body = request.json();
    if (!body) return std::unexpected(body.error());
    auto username = string_member(*body, "username");
    auto password = string_member(*body, "password");
    if (!username || !password || !body->contains("roles")) return fail(ErrorCode::invalid_json, "takes {\"username\", \"password\", \"roles\"}");
    auto roles = roles_from((*body)["roles"]);
    if (!roles) return std::unexpected(roles.error());
    auto user = backend.users->create_user(session.tenant, *username, Sensitive<std::string>(std::move(*password)), *roles);
    (void)backend.store->record(actor_of(session, request), "user.create", "User", *username, user ? "ok" : user.error().name());
    if (!user) return std::unexpected(user.error());
    return http::json_response(201, user_json(*user, SystemClock::instance().unix_seconds()));
  }), "Create a user: {username, password, roles} (admin)");

  api.add("PATCH", "/v1/users/{username}", authorized(admin, [](const Request& request, Backend& backend, const Session& session) -> Result<Response> {
    auto body = request.json();
    if (!body) return std::unexpected(body.error());
    if (!body->is_object()) return fail(ErrorCode::invalid_json, "takes an object");
    const std::string username(request.param("username"));
    UserUpdate update;
    std::optional<std::string> password;
    for (auto it = body->begin(); it != body->end(); ++it) {
      if (it.key() == "roles") {
        auto roles = roles_from(*it);
        if (!roles) return std::unexpected(roles.error());
        update.roles = *roles;
      } else if (it.key() == "disabled" && it->is_boolean()) {
        update.disabled = it->get<bool>();
      } else if (it.key() == "unlock" && it->is_boolean()) {
        update.unlock = it->get<bool>();
      } else if (it.key() == "password" && it->is_string()) {
        password = it->get<std::string>();
      } else {
        return fail(ErrorCode::invalid_json, "unexpected member \"" + it.key() + "\" (roles, disabled, unlock, password)");
      }
    }
    if (password) {
      if (auto status = backend.users->set_password(session.tenant, username, Sensitive<std::string>(std::move(*password))); !status) {
        return std::unexpected(status.error());
      }
    }
    auto user = backend.users->update_user(session.tenant, username, update);
    (void)backend.store->record(actor_of(session, request), "user.update", "User", username, user ? "ok" : user.error().name());
    if (!user) return std::unexpected(user.error());
    return http::json_response(200, user_json(*user, SystemClock::instance().unix_seconds()));
  }), "Change a user's roles, disable/enable, unlock, reset the password (admin)");

  api.add("DELETE", "/v1/users/{username}", authorized(admin, [](const Request& request, Backend& backend, const Session& session) -> Result<Response> {
    const std::string username(request.param("username"));
    if (username == session.username) return fail(ErrorCode::conflict, "an admin cannot delete their own account");
    auto status = backend.users->delete_user(session.tenant, username);
    (void)backend.store->record(actor_of(session, request), "user.delete", "User", username, status ? "ok" : status.error().name());
    if (!status) return std::unexpected(status.error());
    return no_content();
  }), "Delete a user and end their sessions (admin)");

  // --- patients (FHIR R4) ---
  api.add("POST", "/v1/fhir/Patient", authorized(clerk, [](const Request& request, Backend& backend, const Session& session) -> Result<Response> {
    auto body = request.json();
    if (!body) return std::unexpected(body.error());
    auto patient = fhir::validate_patient(*body);
    if (!patient) return std::unexpected(patient.error());
    auto record = backend.store->create_patient(actor_of(session, request), *patient);
    if (!record) return std::unexpected(record.error());
    return patient_response(201, *record);
  }), "Create a FHIR R4 Patient (clerk); 201 with Location and ETag");

  api.add("GET", "/v1/fhir/Patient/{id}", authorized(readers, [](const Request& request, Backend& backend, const Session& session) -> Result<Response> {
    const std::string id(request.param("id"));
    const auto actor = actor_of(session, request);
    const std::string cache_name = "patient:" + session.tenant + ":" + id;
    if (backend.cache) {
      if (auto cached = backend.cache->get(cache_name)) {
        auto document = nlohmann::json::parse(*cached, nullptr, false);
        wipe(*cached);
        if (document.is_object() && document.contains("resource")) {
          if (auto status = backend.store->record(actor, "patient.read", "Patient", id, "ok"); !status) {
            return std::unexpected(status.error());
          }
          PatientRecord record{id, document.value("version", std::int64_t{0}), document.value("created_at", std::int64_t{0}),
                               document.value("updated_at", std::int64_t{0}), document["resource"]};
          return patient_response(200, record);
        }
      }
    }
    auto record = backend.store->patient(actor, id);
    if (!record) return std::unexpected(record.error());
    if (backend.cache) {
      auto text = nlohmann::json{{"version", record->version}, {"created_at", record->created_at},
                                 {"updated_at", record->updated_at}, {"resource", record->resource}}.dump();
      backend.cache->put(cache_name, text);
      wipe(text);
    }
    return patient_response(200, *record);
  }), "Read a Patient (clerk, clinician)");

  api.add("PUT", "/v1/fhir/Patient/{id}", authorized(clerk, [](const Request& request, Backend& backend, const Session& session) -> Result<Response> {
    auto expected = if_match(request);
    if (!expected) return std::unexpected(expected.error());
    auto body = request.json();
    if (!body) return std::unexpected(body.error());
    const std::string id(request.param("id"));
    if (body->is_object() && body->contains("id") && (*body)["id"] != id) {
      return fail(ErrorCode::fhir_invalid, "Patient.id does not match the id in the URL");
    }
    auto patient = fhir::validate_patient(*body);
    if (!patient) return std::unexpected(patient.error());
    auto record = backend.store->update_patient(actor_of(session, request), id, *patient, *expected);
    if (backend.cache) backend.cache->remove("patient:" + session.tenant + ":" + id);
    if (!record) return std::unexpected(record.error());
    return patient_response(200, *record);
  }), "Update a Patient (clerk); If-Match: W/\"<version>\" for optimistic locking");

  api.add("DELETE", "/v1/fhir/Patient/{id}", authorized(clerk, [](const Request& request, Backend& backend, const Session& session) -> Result<Response> {
    const std::string id(request.param("id"));
    auto status = backend.store->delete_patient(actor_of(session, request), id);
    if (backend.cache) backend.cache->remove("patient:" + session.tenant + ":" + id);
    if (!status) return std::unexpected(status.error());
    return no_content();
  }), "Delete a Patient and its finished studies (clerk); 409 while a study is in progress");

  api.add("GET", "/v1/fhir/Patient", authorized(readers, [this](const Request& request, Backend& backend, const Session& session) -> Result<Response> {
    auto token = request.query.find("identifier");
    if (token == request.query.end()) {
      return fail(ErrorCode::invalid_argument, "search by identifier: /v1/fhir/Patient?identifier=<system>|<value>");
    }
    auto query = fhir::parse_identifier_query(token->second);
    if (!query) return std::unexpected(query.error());
    auto records = backend.store->find_patients(actor_of(session, request), query->system, query->value);
    if (!records) return std::unexpected(records.error());
    std::vector<nlohmann::json> resources;
    for (const auto& record : *records) resources.push_back(patient_json(record));
    return fhir_response(200, fhir::searchset(resources, options_.base_url));
  }), "Search Patients by identifier (clerk, clinician): ?identifier=<system>|<value> or <value>");

  // --- studies ---
  api.add("GET", "/v1/models", authorized({}, [this](const Request&, Backend&, const Session&) -> Result<Response> {
    return http::json_response(200, {{"models", options_.models}});
  }), "The diagnostic models hospitals may choose");

  api.add("POST", "/v1/studies", authorized(clerk, [this](const Request& request, Backend& backend, const Session& session) -> Result<Response> {
    auto patient = request.query.find("patient");
    auto model = request.query.find("model");
    if (patient == request.query.end() || model == request.query.end()) {
      return fail(ErrorCode::invalid_argument, "submit with /v1/studies?patient=<patient id>&model=<model name>");
    }
    if (std::find(options_.models.begin(), options_.models.end(), model->second) == options_.models.end()) {
      return fail(ErrorCode::invalid_argument, "unknown diagnostic model; GET /v1/models lists them");
    }
    if (request.body.empty()) return fail(ErrorCode::bad_request, "the study's image is the body");
    if (request.body.size() > options_.max_upload_bytes) {
      return fail(ErrorCode::payload_too_large, "an upload is at most " + std::to_string(options_.max_upload_bytes) + " bytes");
    }
    const std::string content_type(request.header("Content-Type").value_or("application/octet-stream"));
    // Decoded here once, so an image the provider could never read is refused now, not dead-lettered later.
    auto image = imaging::decode_upload(content_type, request.body);
    if (!image) return std::unexpected(image.error());
    if (!image->voxels.empty()) OPENSSL_cleanse(image->voxels.data(), image->voxels.size() * sizeof(float));
    nlohmann::json facts = {{"format", image->source_format}, {"instances", image->depth}};
    if (image->source_format == "dicom") {
      facts["study_instance_uid"] = image->study_instance_uid;
      facts["series_instance_uid"] = image->series_instance_uid;
      facts["sop_class_uid"] = image->sop_class_uid;
      facts["modality"] = image->modality;
    }
    auto study = backend.store->create_study(actor_of(session, request), patient->second, model->second, content_type,
                                             request.body, facts);
    if (!study) return std::unexpected(study.error());
    if (backend.jobs) backend.jobs->notify();
    auto response = http::json_response(202, study->to_json());
    response.set_header("Location", "/v1/studies/" + study->id);
    return response;
  }), "Submit a study (clerk): the image as the body (application/dicom, multipart DICOM series, image/png, image/jpeg), ?patient=&model= → 202");

  api.add("GET", "/v1/studies", authorized(readers, [](const Request& request, Backend& backend, const Session& session) -> Result<Response> {
    std::optional<std::string> patient;
    if (auto it = request.query.find("patient"); it != request.query.end()) patient = it->second;
    std::size_t limit = 100;
    if (auto it = request.query.find("limit"); it != request.query.end()) {
      auto value = parse_int(it->second);
      if (!value || *value < 1 || *value > 1000) return fail(ErrorCode::invalid_argument, "limit: 1 to 1000");
      limit = static_cast<std::size_t>(*value);
    }
    nlohmann::json out = nlohmann::json::array();
    for (const auto& study : backend.store->studies(actor_of(session, request), patient, limit)) out.push_back(study.to_json());
    return http::json_response(200, {{"studies", out}});
  }), "List studies, newest first (clerk, clinician); ?patient=<id>&limit=");

  api.add("GET", "/v1/studies/{id}", authorized(readers, [](const Request& request, Backend& backend, const Session& session) -> Result<Response> {
    auto study = backend.store->study(actor_of(session, request), request.param("id"));
    if (!study) return std::unexpected(study.error());
    return http::json_response(200, study->to_json());
  }), "A study's status (clerk, clinician): queued, running, completed or dead_letter (with the error)");

  api.add("POST", "/v1/studies/{id}/retry", authorized(clerk, [](const Request& request, Backend& backend, const Session& session) -> Result<Response> {
    auto study = backend.store->retry_study(actor_of(session, request), request.param("id"));
    if (!study) return std::unexpected(study.error());
    if (backend.jobs) backend.jobs->notify();
    return http::json_response(202, study->to_json());
  }), "Queue a dead-lettered study again (clerk)");

  api.add("GET", "/v1/studies/{id}/report", authorized(clinician, [](const Request& request, Backend& backend, const Session& session) -> Result<Response> {
    auto result = backend.store->study_result(actor_of(session, request), request.param("id"));
    if (!result) return std::unexpected(result.error());
    return fhir_response(200, result->report);
  }), "The FHIR R4 Bundle: DiagnosticReport, Observations, ImagingStudy (clinician); 409 study_not_ready before");

  api.add("GET", "/v1/studies/{id}/result", authorized(clinician, [](const Request& request, Backend& backend, const Session& session) -> Result<Response> {
    auto result = backend.store->study_result(actor_of(session, request), request.param("id"));
    if (!result) return std::unexpected(result.error());
    return http::json_response(200, {{"diagnosis", result->diagnosis},
                                     {"receipt", result->receipt},
                                     {"provider_token", result->provider_token},
                                     {"provider", result->provider}});
  }), "The provider's findings (with any segmentation mask), its signed receipt and token (clinician)");

  api.add("GET", "/v1/studies/{id}/image", authorized(clinician, [](const Request& request, Backend& backend, const Session& session) -> Result<Response> {
    std::string media_type;
    auto image = backend.store->study_image(actor_of(session, request), request.param("id"), &media_type);
    if (!image) return std::unexpected(image.error());
    Response response;
    response.status = 200;
    response.set_header("Content-Type", media_type);
    response.body = std::move(*image);
    return response;
  }), "The study's image as uploaded (clinician)");

  // --- audit and webhooks (admin) ---
  api.add("GET", "/v1/audit", authorized(admin, [](const Request& request, Backend& backend, const Session& session) -> Result<Response> {
    std::int64_t after = 0;
    std::size_t limit = 100;
    if (auto it = request.query.find("after"); it != request.query.end()) {
      auto value = parse_int(it->second);
      if (!value || *value < 0) return fail(ErrorCode::invalid_argument, "after: a sequence number");
      after = *value;
    }
    if (auto it = request.query.find("limit"); it != request.query.end()) {
      auto value = parse_int(it->second);
      if (!value || *value < 1 || *value > 1000) return fail(ErrorCode::invalid_argument, "limit: 1 to 1000");
      limit = static_cast<std::size_t>(*value);
    }
    nlohmann::json out = nlohmann::json::array();
    for (const auto& entry : backend.store->audit(session.tenant, after, limit)) out.push_back(entry.to_json());
    return http::json_response(200, {{"entries", out}});
  }), "The hospital's audit log, oldest first (admin); ?after=<seq>&limit=");

  api.add("GET", "/v1/webhook", authorized(admin, [](const Request&, Backend& backend, const Session& session) -> Result<Response> {
    auto config = backend.webhooks->config(session.tenant);
    if (!config) return std::unexpected(config.error());
    if (!*config) return fail(ErrorCode::not_found, "no webhook is configured");
    return http::json_response(200, {{"url", (*config)->url}, {"enabled", (*config)->enabled}, {"updated_at", (*config)->updated_at}});
  }), "The hospital's webhook (admin; never the secret)");

  api.add("PUT", "/v1/webhook", authorized(admin, [](const Request& request, Backend& backend, const Session& session) -> Result<Response> {
    auto body = request.json();
    if (!body) return std::unexpected(body.error());
    auto url = string_member(*body, "url");
    auto secret = string_member(*body, "secret");
    if (!url || !secret) return fail(ErrorCode::invalid_json, "takes {\"url\", \"secret\", \"enabled\"}");
    const bool enabled = body->value("enabled", true);
    auto status = backend.webhooks->configure(session.tenant, *url, Sensitive<std::string>(std::move(*secret)), enabled);
    (void)backend.store->record(actor_of(session, request), "webhook.configure", "Webhook", session.tenant,
                                status ? "ok" : status.error().name());
    if (!status) return std::unexpected(status.error());
    return no_content();
  }), "Configure the webhook: {url (https), secret (HMAC-SHA256 key), enabled} (admin)");

  api.add("DELETE", "/v1/webhook", authorized(admin, [](const Request& request, Backend& backend, const Session& session) -> Result<Response> {
    auto status = backend.webhooks->remove(session.tenant);
    (void)backend.store->record(actor_of(session, request), "webhook.remove", "Webhook", session.tenant,
                                status ? "ok" : status.error().name());
    if (!status) return std::unexpected(status.error());
    return no_content();
  }), "Remove the webhook (admin)");

  api.add("GET", "/v1/webhook/events", authorized(admin, [](const Request&, Backend& backend, const Session& session) -> Result<Response> {
    auto events = backend.webhooks->events(session.tenant, 100);
    if (!events) return std::unexpected(events.error());
    nlohmann::json out = nlohmann::json::array();
    for (const auto& event : *events) {
      nlohmann::json item = {{"id", event.event_id}, {"type", event.type}, {"data", event.payload},
                             {"state", event.state}, {"attempts", event.attempts}, {"created_at", event.created_at}};
      if (event.state == "pending") item["next_attempt_at"] = event.next_attempt_at;
      if (event.last_status) item["last_status"] = *event.last_status;
      if (!event.last_error.empty()) item["last_error"] = event.last_error;
      if (event.delivered_at) item["delivered_at"] = *event.delivered_at;
      out.push_back(std::move(item));
    }
    return http::json_response(200, {{"events", out}});
  }), "Webhook deliveries, newest first (admin)");
}

void PlatformApi::add_admin_routes(http::Router& outer, AdminCheck authenticate) {
  auto operator_only = [this, authenticate](std::function<Result<Response>(const Request&, Backend&, const std::string&)> handler) {
    return [this, authenticate, handler = std::move(handler)](const Request& request) -> Result<Response> {
      auto who = authenticate(request.header("Authorization"));
      if (!who) return std::unexpected(who.error());
      Backend* backend = backend_ptr();
      if (backend == nullptr) return fail(ErrorCode::unavailable, "the platform is starting: its data key is not released yet");
      return handler(request, *backend, *who);
    };
  };
  outer.add("GET", "/admin/tenants", operator_only([](const Request&, Backend& backend, const std::string&) -> Result<Response> {
    auto tenants = backend.users->tenants();
    if (!tenants) return std::unexpected(tenants.error());
    nlohmann::json out = nlohmann::json::array();
    for (const auto& tenant : *tenants) out.push_back({{"id", tenant.id}, {"name", tenant.name}, {"created_at", tenant.created_at}});
    return http::json_response(200, {{"tenants", out}});
  }), "The hospitals (operator admin token)");

  outer.add("POST", "/admin/tenants", operator_only([](const Request& request, Backend& backend, const std::string& who) -> Result<Response> {
    auto body = request.json();
    if (!body) return std::unexpected(body.error());
    auto id = string_member(*body, "id");
    auto name = string_member(*body, "name");
    if (!id || !name) return fail(ErrorCode::invalid_json, "takes {\"id\", \"name\"}");
    auto tenant = backend.users->create_tenant(*id, *name);
    if (!tenant) return std::unexpected(tenant.error());
    (void)backend.store->record(Actor{*id, "operator:" + who, "", request.remote_address, request.request_id},
                                "tenant.create", "Tenant", *id, "ok");
    return http::json_response(201, {{"id", tenant->id}, {"name", tenant->name}, {"created_at", tenant->created_at}});
  }), "Create a hospital: {id, name} (operator admin token)");

  outer.add("POST", "/admin/tenants/{tenant}/users", operator_only([](const Request& request, Backend& backend, const std::string& who) -> Result<Response> {
    auto body = request.json();
    if (!body) return std::unexpected(body.error());
    auto username = string_member(*body, "username");
    auto password = string_member(*body, "password");
    if (!username || !password) return fail(ErrorCode::invalid_json, "takes {\"username\", \"password\", \"roles\"}");
    std::vector<Role> roles = {Role::admin};
    if (body->contains("roles")) {
      auto parsed = roles_from((*body)["roles"]);
      if (!parsed) return std::unexpected(parsed.error());
      roles = *parsed;
    }
    const std::string tenant(request.param("tenant"));
    auto user = backend.users->create_user(tenant, *username, Sensitive<std::string>(std::move(*password)), roles);
    if (!user) return std::unexpected(user.error());
    (void)backend.store->record(Actor{tenant, "operator:" + who, "", request.remote_address, request.request_id},
                                "user.create", "User", *username, "ok");
    return http::json_response(201, user_json(*user, SystemClock::instance().unix_seconds()));
  }), "Create a hospital's user, by default its first admin: {username, password, roles} (operator admin token)");
}

}  // namespace cloister::platform

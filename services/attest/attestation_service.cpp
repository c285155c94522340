#include "attestation_service.h"

#include "appraisal.h"
#include "cloister/core/private_files.h"

#include "cloister/attestation/format_registry.h"
#include "cloister/attestation/runtime_data.h"
#include "cloister/core/log.h"
#include "cloister/crypto/base64.h"

#include <nlohmann/json.hpp>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <ctime>
#include <iomanip>
#include <optional>
#include <sstream>

namespace cloister::attest {

namespace {

constexpr std::string_view kAdminRealm = "Bearer realm=\"cloister-attest admin\"";

Result<crypto::Bytes> decode_member(const nlohmann::json& body, const char* name, bool required) {
  if (!body.contains(name)) {
    if (required) return fail(ErrorCode::invalid_json, std::string("missing member ") + name);
    return crypto::Bytes{};
  }
  if (!body[name].is_string()) return fail(ErrorCode::invalid_json, std::string(name) + " must be a string");
  auto bytes = crypto::base64url_decode(body[name].get<std::string>());
  if (!bytes) return fail(ErrorCode::bad_encoding, std::string(name) + " is not base64url");
  return bytes;
}

std::string format_label(const std::vector<std::unique_ptr<attestation::EvidenceVerifier>>& verifiers,
                         const std::string& format) {
  // The label set is bounded: unknown formats are counted as "unknown".
  return attestation::find(verifiers, format).has_value() ? format : "unknown";
}

// The format claims' collateral_expiration ("YYYY-MM-DDTHH:MM:SSZ", DCAP formats) as Unix seconds.
std::optional<std::int64_t> collateral_expiration(const nlohmann::json& format_claims) {
  if (!format_claims.is_object() || !format_claims.contains("collateral_expiration") ||
      !format_claims["collateral_expiration"].is_string()) {
    return std::nullopt;
  }
  std::tm time{};
  std::istringstream in(format_claims["collateral_expiration"].get<std::string>());
  in >> std::get_time(&time, "%Y-%m-%dT%H:%M:%S");
  if (in.fail()) return std::nullopt;
  return static_cast<std::int64_t>(timegm(&time));
}

nlohmann::json version_summary(const PolicyVersion& version) {
  return {{"version", version.version}, {"policy_hash", version.hash}, {"created_at", version.created_at},
          {"policy", version.policy.to_json()}};
}

}  // namespace

http::Response refusal_response(const Error& error, std::string_view rule, const http::Request& request,
                                const nlohmann::json& extra) {
  auto response = http::problem_response(error, request.request_id, request.path);
  auto problem = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!problem.is_object()) return response;
  problem["rule"] = std::string(rule);
  if (extra.is_object()) {
    for (const auto& [key, value] : extra.items()) {
      if (!problem.contains(key)) problem[key] = value;
    }
  }
  response.body = problem.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

struct AttestationService::Issuer {
  std::string url;
  attestation::TokenIssuer token_issuer;
};

struct AttestationService::Submission {
  std::string format;
  const attestation::EvidenceVerifier* verifier = nullptr;
  attestation::Evidence evidence;
  bool has_runtime_data = false;
  nlohmann::json runtime;  // the runtime-data document, when given and parsed
  attestation::Collateral collateral;
  std::string collateral_source = "none";  // request | store | none
  nlohmann::json body;
};

Result<std::unique_ptr<AttestationService>> AttestationService::create(AttestationServiceOptions options,
                                                                       const Clock& clock,
                                                                       prometheus::Registry& registry) {
  if (options.state_dir.empty()) return fail(ErrorCode::config_invalid, "state_dir is required");
  if (options.token_lifetime.count() <= 0 || options.nonce_lifetime.count() <= 0) {
    return fail(ErrorCode::config_invalid, "token and nonce lifetimes must be positive");
  }
  if (options.key_retention < options.token_lifetime + kJwksMaxAge) {
    return fail(ErrorCode::config_invalid,
                "keys.retention_hours must cover the token lifetime plus the JWKS cache time (" +
                    std::to_string((options.token_lifetime + kJwksMaxAge).count()) + " s)");
  }
  if (options.key_rotation_period.count() > 0 && options.key_rotation_period <= options.key_prepublish) {
    return fail(ErrorCode::config_invalid, "keys.rotation_hours must be longer than keys.prepublish_minutes");
  }
  if (auto ready = ensure_private_directory(options.state_dir); !ready) return std::unexpected(ready.error());

  auto verifiers = attestation::make_evidence_verifiers(options.formats);
  std::map<std::string, attestation::Policy> seeds;
  for (const auto& verifier : verifiers) {
    const std::string format(verifier->format_id());
    auto seeded = options.seed_policies.find(format);
    seeds[format] = seeded != options.seed_policies.end() ? seeded->second : options.seed_policy;
  }
  for (const auto& [format, policy] : options.seed_policies) {
    if (!seeds.contains(format)) log::warn("seed policy for a format this build does not verify", {{"format", format}});
  }

  auto keys = attestation::SigningKeys::open(options.state_dir / "signing-keys", clock, options.key_retention);
  if (!keys) return std::unexpected(keys.error());
  auto policies = PolicyStore::open(options.state_dir / "policies", clock, seeds);
  if (!policies) return std::unexpected(policies.error());
  auto admin = AdminCredentials::open_and_report(options.admin_credentials, options.state_dir);
  if (!admin) return std::unexpected(admin.error());
  auto nonce_key = NonceIssuer::load_or_create_key(options.state_dir / "nonce-key");
  if (!nonce_key) return std::unexpected(nonce_key.error());
  auto nonces = std::make_unique<NonceIssuer>(clock, options.nonce_lifetime, std::move(*nonce_key));

  std::unique_ptr<AttestationService> service(new AttestationService(std::move(options), std::move(*keys),
                                                                     std::move(*policies), std::move(*admin),
                                                                     std::move(nonces), clock, registry));
  service->verifiers_ = std::move(verifiers);
  return service;
}

AttestationService::AttestationService(AttestationServiceOptions options, attestation::SigningKeys keys,
                                       std::unique_ptr<PolicyStore> policies, AdminCredentials admin,
                                       std::unique_ptr<NonceIssuer> nonces, const Clock& clock,
                                       prometheus::Registry& registry)
    : options_(std::move(options)),
      keys_(std::move(keys)),
      policies_(std::move(policies)),
      admin_(std::move(admin)),
      nonces_(std::move(nonces)),
      clock_(clock),
      limiter_(clock, options_.rate_limit) {
  outcomes_ = &prometheus::BuildCounter()
                   .Name("cloister_attest_evidence_total")
                   .Help("Evidence appraisals, by format and outcome (ok or the error code)")
                   .Register(registry);
  collateral_expiry_ = &prometheus::BuildGauge()
                            .Name("cloister_attest_collateral_expiry_timestamp_seconds")
                            .Help("Earliest nextUpdate/notAfter of the collateral used by the latest appraisal "
                                  "that issued a token, by format (DCAP formats), Unix seconds")
                            .Register(registry);
  rate_limited_ = &prometheus::BuildCounter()
                       .Name("cloister_attest_rate_limited_total")
                       .Help("Requests refused by the per-client rate limit, by route")
                       .Register(registry);
  policy_changes_ = &prometheus::BuildCounter()
                         .Name("cloister_attest_policy_changes_total")
                         .Help("New policy versions made through the admin API, by format")
                         .Register(registry);
  admin_auth_failures_ = &prometheus::BuildCounter()
                              .Name("cloister_attest_admin_auth_failures_total")
                              .Help("Admin requests refused for a missing or invalid credential")
                              .Register(registry);
  key_rotations_ = &prometheus::BuildCounter()
                        .Name("cloister_attest_signing_key_rotations_total")
                        .Help("Scheduled signing-key rotations")
                        .Register(registry);
}

AttestationService::~AttestationService() = default;

void AttestationService::set_issuer(std::string issuer) {
  while (!issuer.empty() && issuer.back() == '/') issuer.pop_back();
  auto state = std::make_shared<const Issuer>(
      Issuer{issuer, attestation::TokenIssuer(keys_, issuer, options_.token_lifetime, clock_)});
  issuer_.store(std::move(state));
}

Status AttestationService::tick() {
  const auto before_next = keys_.next_kid();
  auto rotated = keys_.rotate_if_due(options_.key_rotation_period, options_.key_prepublish);
  if (!rotated) {
    log::error("signing key rotation failed", {{"code", rotated.error().name()}, {"detail", rotated.error().detail}});
    return std::unexpected(rotated.error());
  }
  if (*rotated) {
    key_rotations_->Add({}).Increment();
    log::info("signing key rotated", {{"kid", keys_.current_kid()}});
  } else if (auto next = keys_.next_kid(); next && next != before_next) {
    log::info("next signing key published", {{"kid", *next}});
  }
  return {};
}

http::Handler AttestationService::limited(http::Handler handler) {
  return [this, handler = std::move(handler)](const http::Request& request) -> Result<http::Response> {
    if (auto wait = limiter_.acquire(request.remote_address)) {
      rate_limited_->Add({{"route", request.path.starts_with("/admin") ? "admin" : "public"}}).Increment();
      auto response = refusal_response(
          Error{ErrorCode::too_many_requests, "rate limit: retry after " + std::to_string(wait->count()) + " s"},
          "rate_limit", request);
      response.set_header("Retry-After", std::to_string(wait->count()));
      return response;
    }
    return handler(request);
  };
}

http::Handler AttestationService::admin_only(
    std::function<Result<http::Response>(const http::Request&, const std::string&)> handler) {
  return limited([this, handler = std::move(handler)](const http::Request& request) -> Result<http::Response> {
    auto who = admin_.authenticate(request.header("Authorization"));
    if (!who) {
      admin_auth_failures_->Add({}).Increment();
      log::warn("admin authentication failed", {{"request_id", request.request_id}, {"client", request.remote_address}});
      auto response = refusal_response(who.error(), "admin_credential", request);
      response.set_header("WWW-Authenticate", std::string(kAdminRealm));
      return response;
    }
    return handler(request, *who);
  });
}

Result<AttestationService::Submission> AttestationService::read_submission(const http::Request& request,
                                                                           bool runtime_data_required) const {
  Submission submission;
  submission.format = std::string(request.param("format"));
  auto verifier = attestation::find(verifiers_, submission.format);
  if (!verifier) return std::unexpected(verifier.error());
  submission.verifier = *verifier;
  auto body = request.json();
  if (!body) return std::unexpected(body.error());
  if (!body->is_object()) return fail(ErrorCode::invalid_json, "body must be a JSON object");
  submission.body = std::move(*body);
  const auto& document = submission.body;

  auto evidence_bytes = decode_member(document, "evidence", true);
  if (!evidence_bytes) return std::unexpected(evidence_bytes.error());
  auto runtime_data = decode_member(document, "runtime_data", runtime_data_required);
  if (!runtime_data) return std::unexpected(runtime_data.error());
  submission.has_runtime_data = document.contains("runtime_data");
  submission.evidence = attestation::Evidence{submission.format, std::move(*evidence_bytes), std::move(*runtime_data),
                                              std::nullopt};
  if (document.contains("nonce")) {
    if (!document["nonce"].is_string()) return fail(ErrorCode::invalid_json, "nonce must be a string");
    submission.evidence.nonce = document["nonce"].get<std::string>();
  }
  if (document.contains("collateral")) {
    if (!document["collateral"].is_object()) return fail(ErrorCode::invalid_json, "collateral must be an object");
    submission.collateral.documents = document["collateral"];
    submission.collateral_source = "request";
  } else if (!options_.collateral_dir.empty()) {
    auto stored = attestation::load_collateral_store(submission.format, options_.collateral_dir,
                                                     submission.evidence.evidence);
    if (stored) {
      submission.collateral = std::move(*stored);
      submission.collateral_source = "store";
    } else if (stored.error().code != ErrorCode::unsupported_format) {
      // unsupported_format: this format keeps nothing in the store; otherwise the store lacks it.
      return std::unexpected(stored.error());
    }
  }
  return submission;
}

Result<http::Response> AttestationService::attest(const http::Request& request) {
  std::string format(request.param("format"));
  const std::string label = format_label(verifiers_, format);
  std::shared_ptr<const PolicyVersion> policy = policies_->current(format);
  auto refuse = [&](const Error& error, std::string_view rule) -> Result<http::Response> {
    outcomes_->Add({{"format", label}, {"outcome", std::string(error.name())}}).Increment();
    log::warn("evidence refused", {{"request_id", request.request_id},
                                   {"format", label},
                                   {"code", error.name()},
                                   {"rule", std::string(rule)},
                                   {"detail", error.detail}});
    nlohmann::json extra = {{"format", label}};
    if (policy && rule != refusal_rule::kRequest && rule != refusal_rule::kFormat) {
      extra["policy_version"] = policy->version;
      extra["policy_hash"] = policy->hash;
    }
    return refusal_response(error, rule, request, extra);
  };

  auto issuer = issuer_.load();
  if (!issuer) return refuse(Error{ErrorCode::unavailable, "issuer not configured yet"}, refusal_rule::kRequest);
  auto submission = read_submission(request, /*runtime_data_required=*/true);
  if (!submission) return refuse(submission.error(), rule_for_error(submission.error().code));
  if (!policy) return refuse(Error{ErrorCode::internal, "no policy for this format"}, refusal_rule::kPolicy);
  const auto& evidence = submission->evidence;
  // A forged or expired nonce is refused before any expensive check.
  if (evidence.nonce) {
    if (auto checked = nonces_->check(*evidence.nonce); !checked) return refuse(checked.error(), refusal_rule::kNonce);
  }

  attestation::VerificationContext context{clock_};
  auto verified = submission->verifier->verify(evidence, submission->collateral, context);
  if (!verified) return refuse(verified.error(), rule_for_error(verified.error().code));
  // verify() parsed the runtime data strictly (keys included); the policy needs only the document.
  const auto runtime = nlohmann::json::parse(evidence.runtime_data.begin(), evidence.runtime_data.end(), nullptr,
                                             /*allow_exceptions=*/false);
  if (!runtime.is_object()) return refuse(Error{ErrorCode::runtime_data_invalid}, refusal_rule::kRuntimeData);
  const auto claims = appraisal_claims(*verified, &runtime, evidence.nonce);
  if (auto failure = policy->policy.first_failure(claims)) return refuse(*failure->failure, failure->rule);
  // The nonce is consumed only once everything else passed, so a refused attempt does not burn it.
  if (evidence.nonce) {
    if (auto consumed = nonces_->consume(*evidence.nonce); !consumed) {
      return refuse(consumed.error(), refusal_rule::kNonce);
    }
  }
  auto token = issuer->token_issuer.issue(*verified, evidence.runtime_data, evidence.nonce, policy->hash);
  if (!token) return refuse(token.error(), rule_for_error(token.error().code));
  outcomes_->Add({{"format", label}, {"outcome", "ok"}}).Increment();
  // DCAP formats say until when the collateral they used is valid: the alert on collateral expiry.
  if (auto expiry = collateral_expiration(verified->format_claims)) {
    collateral_expiry_->Add({{"format", label}}).Set(static_cast<double>(*expiry));
  }
  log::info("token issued", {{"request_id", request.request_id},
                             {"format", format},
                             {"tee", verified->claims.tee},
                             {"measurement", verified->claims.measurement},
                             {"policy_version", policy->version},
                             {"collateral", submission->collateral_source}});
  return http::json_response(200, {{"token", *token}, {"policy_version", policy->version}, {"policy_hash", policy->hash}});
}

Result<http::Response> AttestationService::dry_run(const http::Request& request) {
  auto refuse = [&](const Error& error, std::string_view rule) -> Result<http::Response> {
    return refusal_response(error, rule, request, {{"dry_run", true}});
  };
  auto submission = read_submission(request, /*runtime_data_required=*/false);
  if (!submission) return refuse(submission.error(), rule_for_error(submission.error().code));
  const auto& body = submission->body;

  // The draft policy, or the one in force when none is given.
  nlohmann::json policy_report;
  attestation::Policy policy;
  if (body.contains("policy")) {
    auto draft = policy_for_format(body["policy"], submission->format);
    if (!draft) return refuse(draft.error(), refusal_rule::kPolicy);
    policy = std::move(*draft);
    policy_report = {{"source", "draft"}};
  } else {
    auto current = policies_->current(submission->format);
    if (!current) return refuse(Error{ErrorCode::internal, "no policy for this format"}, refusal_rule::kPolicy);
    policy = current->policy;
    policy_report = {{"source", "in_force"}, {"version", current->version}};
  }
  policy_report["policy_hash"] = policy.hash();
  policy_report["policy"] = policy.to_json();

  const auto& evidence = submission->evidence;
  attestation::VerificationContext context{clock_};
  auto verified = submission->has_runtime_data
                      ? submission->verifier->verify(evidence, submission->collateral, context)
                      : verify_unbound(*submission->verifier, evidence, submission->collateral, context);
  if (!verified) return refuse(verified.error(), rule_for_error(verified.error().code));
  nlohmann::json runtime;
  if (submission->has_runtime_data) {
    auto parsed = attestation::parse_runtime_data(evidence.runtime_data);
    if (!parsed) return refuse(parsed.error(), refusal_rule::kRuntimeData);
    runtime = std::move(parsed->document);
  }
  const auto claims =
      appraisal_claims(*verified, submission->has_runtime_data ? &runtime : nullptr, evidence.nonce);
  auto outcomes = policy.evaluate(claims);
  if (evidence.nonce) {
    // Checked (signature, expiry) but never consumed by a dry-run.
    auto checked = nonces_->check(*evidence.nonce);
    outcomes.push_back(attestation::RuleOutcome{std::string(refusal_rule::kNonce),
                                                checked ? std::nullopt : std::optional<Error>(checked.error())});
  }
  const bool pass = std::all_of(outcomes.begin(), outcomes.end(), [](const auto& outcome) { return outcome.passed(); });
  log::info("dry run", {{"request_id", request.request_id},
                        {"format", submission->format},
                        {"verdict", pass ? "pass" : "fail"},
                        {"policy_hash", policy_report["policy_hash"]}});
  return http::json_response(200, {{"dry_run", true},
                                   {"format", submission->format},
                                   {"verdict", pass ? "pass" : "fail"},
                                   {"policy", std::move(policy_report)},
                                   {"claims", claims},
                                   {"runtime_data_binding", submission->has_runtime_data ? "checked" : "not_checked"},
                                   {"collateral_source", submission->collateral_source},
                                   {"rules", rule_outcomes_json(outcomes)},
                                   {"token", nullptr}});
}

Result<http::Response> AttestationService::discovery(const http::Request&) const {
  auto issuer = issuer_.load();
  if (!issuer) return fail(ErrorCode::unavailable, "issuer not configured yet");
  nlohmann::json document = {
      {"issuer", issuer->url},
      {"jwks_uri", issuer->url + std::string(attestation::kJwksPath)},
      {"id_token_signing_alg_values_supported", {"ES256"}},
      {"token_endpoint_auth_methods_supported", nlohmann::json::array()},
      {"response_types_supported", {"token"}},
      {"subject_types_supported", {"public"}},
      {"claims_supported",
       {"iss", "iat", "nbf", "exp", "jti", "nonce", "tee", "format", "measurement", "signer", "product_id", "svn",
        "debuggable", "tcb_status", "advisory_ids", "runtime", "report_data", "policy_hash", "x-cloister-simulated",
        "x-cloister-format-claims"}},
  };
  auto response = http::json_response(200, document);
  response.set_header("Cache-Control", "public, max-age=300");
  return response;
}

Result<http::Response> AttestationService::jwks(const http::Request&) const {
  auto response = http::json_response(200, keys_.jwks());
  response.set_header("Content-Type", "application/jwk-set+json");
  // Short: relying parties refetch on an unknown kid anyway, and the next key is published
  // (keys.prepublish_minutes) well before it signs.
  response.set_header("Cache-Control", "public, max-age=" + std::to_string(kJwksMaxAge.count()));
  return response;
}

Result<http::Response> AttestationService::public_policies(const http::Request&) const {
  nlohmann::json policies = nlohmann::json::object();
  for (const auto& format : policies_->formats()) {
    if (auto current = policies_->current(format)) policies[format] = version_summary(*current);
  }
  return http::json_response(200, {{"policies", std::move(policies)}});
}

Result<http::Response> AttestationService::admin_list(const http::Request&, const std::string&) const {
  nlohmann::json policies = nlohmann::json::object();
  for (const auto& format : policies_->formats()) {
    if (auto current = policies_->current(format)) policies[format] = current->to_json();
  }
  return http::json_response(200, {{"policies", std::move(policies)}});
}

Result<http::Response> AttestationService::admin_get(const http::Request& request, const std::string&) const {
  auto current = policies_->current(request.param("format"));
  if (!current) return fail(ErrorCode::not_found, "no policy for this format");
  return http::json_response(200, current->to_json());
}

Result<http::Response> AttestationService::admin_versions(const http::Request& request, const std::string&) const {
  const std::string format(request.param("format"));
  auto versions = policies_->versions(format);
  if (versions.empty()) return fail(ErrorCode::not_found, "no policy for this format");
  nlohmann::json list = nlohmann::json::array();
  for (auto it = versions.rbegin(); it != versions.rend(); ++it) list.push_back((*it)->to_json());
  return http::json_response(200, {{"format", format}, {"current", versions.back()->version}, {"versions", std::move(list)}});
}

Result<http::Response> AttestationService::admin_put(const http::Request& request, const std::string& who) {
  const std::string format(request.param("format"));
  auto body = request.json();
  if (!body) return std::unexpected(body.error());
  if (!body->is_object()) return fail(ErrorCode::invalid_json, "body must be a JSON object");
  // {"policy": {…}, "comment": "…", "base_version": N}, or a bare policy document.
  nlohmann::json document = *body;
  std::string comment;
  std::optional<std::uint64_t> base_version;
  if (body->contains("policy") && (*body)["policy"].is_object()) {
    for (const auto& [key, value] : body->items()) {
      if (key != "policy" && key != "comment" && key != "base_version") {
        return fail(ErrorCode::invalid_json, "unknown member " + key.substr(0, 32));
      }
    }
    document = (*body)["policy"];
    if (body->contains("comment")) {
      if (!(*body)["comment"].is_string()) return fail(ErrorCode::invalid_json, "comment must be a string");
      comment = (*body)["comment"].get<std::string>();
    }
    if (body->contains("base_version")) {
      if (!(*body)["base_version"].is_number_unsigned()) {
        return fail(ErrorCode::invalid_json, "base_version must be a positive integer");
      }
      base_version = (*body)["base_version"].get<std::uint64_t>();
    }
  }
  auto policy = attestation::Policy::from_json(document);
  if (!policy) return std::unexpected(policy.error());
  const auto previous = policies_->current(format);
  auto change = policies_->put(format, std::move(*policy), who, comment, base_version);
  if (!change) return std::unexpected(change.error());
  if (change->changed) {
    policy_changes_->Add({{"format", format}}).Increment();
    // The audit line: who, what, which version and hash — never a credential.
    log::info("policy changed", {{"audit", true},
                                 {"request_id", request.request_id},
                                 {"who", who},
                                 {"format", format},
                                 {"version", change->version->version},
                                 {"policy_hash", change->version->hash},
                                 {"previous_version", previous ? previous->version : 0},
                                 {"previous_hash", previous ? previous->hash : ""}});
  }
  auto response = change->version->to_json();
  response["changed"] = change->changed;
  return http::json_response(200, response);
}

void AttestationService::add_routes(http::Router& router) {
  router.add(
      "POST", "/attest/nonce",
      limited([this](const http::Request&) -> Result<http::Response> {
        return http::json_response(200, {{"nonce", nonces_->issue()}, {"expires_in", nonces_->lifetime().count()}});
      }),
      "A short-lived, one-time nonce (HMAC-signed, with its expiry) to put in the runtime data of fresh evidence");
  router.add(
      "POST", "/attest/{format}", limited([this](const http::Request& request) { return attest(request); }),
      "Appraise evidence (+ runtime data, nonce, collateral) against the format's policy and issue a token");
  router.add(
      "POST", "/attest/{format}/dry-run", limited([this](const http::Request& request) { return dry_run(request); }),
      "Evaluate a draft (or the current) policy against evidence: claims and each rule's outcome, never a token");
  router.add(
      "GET", "/.well-known/openid-configuration",
      limited([this](const http::Request& request) { return discovery(request); }), "OIDC discovery document");
  router.add(
      "GET", std::string(attestation::kJwksPath), limited([this](const http::Request& request) { return jwks(request); }),
      "The token-signing public keys (JWK Set): current, pre-published next and retired keys");
  router.add(
      "GET", "/policy", limited([this](const http::Request& request) { return public_policies(request); }),
      "Every format's policy in force, its version and hash (the policy_hash claim)");
  router.add(
      "GET", "/admin/policies",
      admin_only([this](const http::Request& request, const std::string& who) { return admin_list(request, who); }),
      "Admin: every format's policy version in force");
  router.add(
      "GET", "/admin/policies/{format}",
      admin_only([this](const http::Request& request, const std::string& who) { return admin_get(request, who); }),
      "Admin: the policy version in force for a format");
  router.add(
      "PUT", "/admin/policies/{format}",
      admin_only([this](const http::Request& request, const std::string& who) { return admin_put(request, who); }),
      "Admin: a new policy version for a format ({policy, comment, base_version})");
  router.add(
      "GET", "/admin/policies/{format}/versions",
      admin_only([this](const http::Request& request, const std::string& who) { return admin_versions(request, who); }),
      "Admin: every version of a format's policy, newest first");
}

}  // namespace cloister::attest

#include "cloister/service/caller_auth.h"

#include "cloister/core/log.h"
#include "cloister/service/tls_identity.h"

#include <nlohmann/json.hpp>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

namespace cloister::service {

namespace {

// "https://host:port" of a URL (scheme, host and port; no path).
std::string origin_of(std::string_view url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return {};
  auto path_start = url.find('/', scheme_end + 3);
  return std::string(url.substr(0, path_start));
}

}  // namespace

HttpJwksSource::HttpJwksSource(std::string issuer_url, http::Client client)
    : issuer_url_(std::move(issuer_url)), client_(std::move(client)) {
  while (!issuer_url_.empty() && issuer_url_.back() == '/') issuer_url_.pop_back();
}

Result<nlohmann::json> HttpJwksSource::fetch() {
  auto unavailable = [](std::string detail) { return fail(ErrorCode::jwks_unavailable, std::move(detail)); };
  auto discovery = client_.get(issuer_url_ + "/.well-known/openid-configuration");
  if (!discovery) return unavailable("discovery: " + discovery.error().to_string());
  if (discovery->status != 200) return unavailable("discovery answered " + std::to_string(discovery->status));
  auto document = nlohmann::json::parse(discovery->body, nullptr, false);
  if (!document.is_object() || !document.contains("jwks_uri") || !document["jwks_uri"].is_string()) {
    return unavailable("discovery document without jwks_uri");
  }
  if (document.value("issuer", std::string()) != issuer_url_) {
    return unavailable("discovery document names another issuer");
  }
  auto jwks_uri = document["jwks_uri"].get<std::string>();
  if (origin_of(jwks_uri) != origin_of(issuer_url_)) return unavailable("jwks_uri is not on the issuer's origin");
  auto jwks = client_.get(jwks_uri);
  if (!jwks) return unavailable("jwks: " + jwks.error().to_string());
  if (jwks->status != 200) return unavailable("jwks answered " + std::to_string(jwks->status));
  auto keys = nlohmann::json::parse(jwks->body, nullptr, false);
  if (!keys.is_object() || !keys.contains("keys")) return unavailable("jwks is not a JWK Set");
  return keys;
}

Result<attestation::Policy> policy_from_config(const Config& config) {
  nlohmann::json document = {{"tee_types", config.get("policy.tee_types")},
                             {"measurements", config.get("policy.measurements")},
                             {"signers", config.get("policy.signers")},
                             {"min_svn", config.get("policy.min_svn")},
                             {"allow_debug", config.get("policy.allow_debug")},
                             {"allow_simulated", config.get("policy.allow_simulated")},
                             {"tcb_statuses", config.get("policy.tcb_statuses")}};
  auto policy = attestation::Policy::from_json(document);
  if (!policy) return fail(ErrorCode::config_invalid, "policy.*: " + policy.error().detail);
  return policy;
}

struct CallerAuth::State {
  std::shared_ptr<attestation::JwksSource> jwks;
  attestation::Policy policy;
  std::shared_ptr<attestation::TokenVerifier> verifier;
  prometheus::Family<prometheus::Counter>* outcomes = nullptr;
};

CallerAuth::CallerAuth(std::shared_ptr<attestation::JwksSource> jwks, attestation::TokenVerifierOptions options,
                       const Clock& clock, prometheus::Registry& registry)
    : state_(std::make_unique<State>()) {
  state_->jwks = jwks;
  state_->policy = options.policy;
  state_->verifier = std::make_shared<attestation::TokenVerifier>(std::move(jwks), std::move(options), clock);
  state_->outcomes = &prometheus::BuildCounter()
                          .Name("cloister_caller_auth_total")
                          .Help("Attested-caller checks, by outcome (ok or the error code)")
                          .Register(registry);
}

CallerAuth::~CallerAuth() = default;

Result<std::unique_ptr<CallerAuth>> CallerAuth::create(const Config& config, prometheus::Registry& registry,
                                                       const Clock& clock) {
  auto url = config.get_string("attestation.url");
  if (url.empty()) return fail(ErrorCode::config_invalid, "attestation.url is required");
  auto issuer = config.get_string("attestation.issuer");
  if (issuer.empty()) issuer = url;
  auto policy = policy_from_config(config);
  if (!policy) return std::unexpected(policy.error());
  http::ClientOptions client_options;
  if (auto path = config.get_string("tls.ca_file"); !path.empty()) {
    auto ca = read_text_file(path);
    if (!ca) return std::unexpected(ca.error());
    client_options.ca_pem = std::move(*ca);
  }
  client_options.request_timeout = std::chrono::milliseconds(5000);
  client_options.max_attempts = 2;
  auto jwks = std::make_shared<HttpJwksSource>(url, http::Client(std::move(client_options)));
  attestation::TokenVerifierOptions options;
  options.issuer = issuer;
  options.policy = std::move(*policy);
  return std::make_unique<CallerAuth>(std::move(jwks), std::move(options), clock, registry);
}

Result<attestation::VerifiedToken> CallerAuth::authenticate(const http::Request& request) const {
  auto refuse = [&](Error error, std::string_view jti = {}) -> Result<attestation::VerifiedToken> {
    state_->outcomes->Add({{"outcome", std::string(error.name())}}).Increment();
    log::warn("caller refused", {{"request_id", request.request_id},
                                 {"code", error.name()},
                                 {"detail", error.detail},
                                 {"jti", std::string(jti)}});
    return std::unexpected(std::move(error));
  };
  auto header = request.header("Authorization");
  if (!header) return refuse(Error{ErrorCode::attestation_required, "no Authorization header"});
  std::string_view value = *header;
  if (!value.starts_with(kAttestationScheme) || value.size() <= kAttestationScheme.size() + 1 ||
      value[kAttestationScheme.size()] != ' ') {
    return refuse(Error{ErrorCode::attestation_required, "the Authorization scheme must be Attestation"});
  }
  auto token_text = value.substr(kAttestationScheme.size() + 1);
  if (!request.peer) return refuse(Error{ErrorCode::client_certificate_required, "mutual TLS is required"});
  auto token = state_->verifier->verify(token_text);
  if (!token) return refuse(token.error());
  const auto& spki = request.peer->spki_der;
  auto binding = attestation::check_channel_binding(
      *token, crypto::BytesView(reinterpret_cast<const std::uint8_t*>(spki.data()), spki.size()));
  if (!binding) return refuse(binding.error(), token->jti);
  state_->outcomes->Add({{"outcome", "ok"}}).Increment();
  return token;
}

http::Handler CallerAuth::require(
    std::function<Result<http::Response>(const http::Request&, const attestation::VerifiedToken&)> handler) const {
  return [this, handler = std::move(handler)](const http::Request& request) -> Result<http::Response> {
    auto token = authenticate(request);
    if (!token) return std::unexpected(token.error());
    return handler(request, *token);
  };
}

const attestation::Policy& CallerAuth::policy() const { return state_->policy; }

std::shared_ptr<attestation::TokenVerifier> CallerAuth::verifier() const { return state_->verifier; }

}  // namespace cloister::service

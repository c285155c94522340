#include "attestation_service.h"

#include "cloister/attestation/format_registry.h"
#include "cloister/core/log.h"
#include "cloister/crypto/base64.h"

#include <nlohmann/json.hpp>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

namespace cloister::attest {

struct AttestationService::Issuer {
  std::string url;
  attestation::TokenIssuer token_issuer;
};

AttestationService::AttestationService(AttestationServiceOptions options, attestation::SigningKeys keys,
                                       const Clock& clock, prometheus::Registry& registry)
    : options_(std::move(options)),
      keys_(std::move(keys)),
      clock_(clock),
      verifiers_(attestation::make_evidence_verifiers(options_.formats)),
      nonces_(clock, options_.nonce_lifetime),
      policy_hash_(options_.policy.hash()) {
  outcomes_ = &prometheus::BuildCounter()
                   .Name("cloister_attest_evidence_total")
                   .Help("Evidence appraisals, by format and outcome (ok or the error code)")
                   .Register(registry);
}

AttestationService::~AttestationService() = default;

void AttestationService::set_issuer(std::string issuer) {
  while (!issuer.empty() && issuer.back() == '/') issuer.pop_back();
  auto state = std::make_shared<const Issuer>(
      Issuer{issuer, attestation::TokenIssuer(keys_, issuer, options_.token_lifetime, clock_)});
  issuer_.store(std::move(state));
}

namespace {

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

}  // namespace

Result<http::Response> AttestationService::attest(const http::Request& request) {
  std::string format(request.param("format"));
  auto record = [&](std::string_view outcome) {
    // The label set is bounded: unknown formats are counted as "unknown".
    bool known = attestation::find(verifiers_, format).has_value();
    outcomes_->Add({{"format", known ? format : "unknown"}, {"outcome", std::string(outcome)}}).Increment();
  };
  auto refuse = [&](const Error& error) -> Result<http::Response> {
    record(error.name());
    log::warn("evidence refused", {{"request_id", request.request_id},
                                   {"format", format},
                                   {"code", error.name()},
                                   {"detail", error.detail}});
    return std::unexpected(error);
  };

  auto issuer = issuer_.load();
  if (!issuer) return refuse(Error{ErrorCode::unavailable, "issuer not configured yet"});
  auto verifier = attestation::find(verifiers_, format);
  if (!verifier) return refuse(verifier.error());
  auto body = request.json();
  if (!body) return refuse(body.error());
  if (!body->is_object()) return refuse(Error{ErrorCode::invalid_json, "body must be a JSON object"});
  auto evidence_bytes = decode_member(*body, "evidence", true);
  if (!evidence_bytes) return refuse(evidence_bytes.error());
  auto runtime_data = decode_member(*body, "runtime_data", true);
  if (!runtime_data) return refuse(runtime_data.error());

  attestation::Evidence evidence{format, std::move(*evidence_bytes), std::move(*runtime_data), std::nullopt};
  if (body->contains("nonce")) {
    if (!(*body)["nonce"].is_string()) return refuse(Error{ErrorCode::invalid_json, "nonce must be a string"});
    evidence.nonce = (*body)["nonce"].get<std::string>();
  }
  attestation::Collateral collateral;
  if (body->contains("collateral")) {
    if (!(*body)["collateral"].is_object()) return refuse(Error{ErrorCode::invalid_json, "collateral must be an object"});
    collateral.documents = (*body)["collateral"];
  }

  attestation::VerificationContext context{clock_};
  auto verified = (*verifier)->verify(evidence, collateral, context);
  if (!verified) return refuse(verified.error());
  if (auto status = options_.policy.check(attestation::to_claims_json(*verified)); !status) {
    return refuse(status.error());
  }
  // The nonce is consumed only once everything else passed, so a refused attempt does not burn it.
  if (evidence.nonce) {
    if (auto status = nonces_.consume(*evidence.nonce); !status) return refuse(status.error());
  }
  auto token = issuer->token_issuer.issue(*verified, evidence.runtime_data, evidence.nonce, policy_hash_);
  if (!token) return refuse(token.error());
  record("ok");
  log::info("token issued", {{"request_id", request.request_id},
                             {"format", format},
                             {"tee", verified->claims.tee},
                             {"measurement", verified->claims.measurement}});
  return http::json_response(200, {{"token", *token}});
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
       {"iss", "iat", "nbf", "exp", "jti", "nonce", "tee", "measurement", "signer", "product_id", "svn", "debuggable",
        "tcb_status", "advisory_ids", "runtime", "report_data", "policy_hash"}},
  };
  auto response = http::json_response(200, document);
  response.set_header("Cache-Control", "public, max-age=300");
  return response;
}

Result<http::Response> AttestationService::jwks(const http::Request&) const {
  auto response = http::json_response(200, keys_.jwks());
  response.set_header("Content-Type", "application/jwk-set+json");
  // Short: relying parties refetch on an unknown kid anyway, and rotation should show quickly.
  response.set_header("Cache-Control", "public, max-age=60");
  return response;
}

void AttestationService::add_routes(http::Router& router) {
  router.add(
      "POST", "/attest/nonce",
      [this](const http::Request&) -> Result<http::Response> {
        return http::json_response(200, {{"nonce", nonces_.issue()}, {"expires_in", nonces_.lifetime().count()}});
      },
      "A one-time nonce to put in the runtime data of fresh evidence");
  router.add(
      "POST", "/attest/{format}", [this](const http::Request& request) { return attest(request); },
      "Appraise evidence of a format (sim; sgx, tdx, snp later) and issue an attestation token");
  router.add(
      "GET", "/.well-known/openid-configuration",
      [this](const http::Request& request) { return discovery(request); }, "OIDC discovery document");
  router.add(
      "GET", std::string(attestation::kJwksPath), [this](const http::Request& request) { return jwks(request); },
      "The token-signing public keys (JWK Set)");
  router.add(
      "GET", "/policy",
      [this](const http::Request&) -> Result<http::Response> {
        return http::json_response(200, {{"policy", options_.policy.to_json()}, {"policy_hash", policy_hash_}});
      },
      "The appraisal policy in force and its hash (the policy_hash claim)");
}

}  // namespace cloister::attest

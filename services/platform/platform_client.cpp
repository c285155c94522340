#include "platform_client.h"

#include "cloister/crypto/hash.h"
#include "cloister/core/clock.h"
#include "cloister/service/caller_auth.h"

#include <algorithm>

namespace cloister::platform {

nlohmann::json PlatformAnswer::json() const { return nlohmann::json::parse(body, nullptr, false); }

std::string PlatformAnswer::code() const {
  auto document = json();
  if (status < 400 || !document.is_object() || !document.contains("code") || !document["code"].is_string()) return {};
  return document["code"].get<std::string>();
}

namespace {

// GET <base>/v1/attestation: the document, which must hold these string members; else the problem.
Result<nlohmann::json> fetch_attestation(const http::Client& client, const std::string& base,
                                         std::initializer_list<const char*> members) {
  auto response = client.get(base + "/v1/attestation");
  if (!response) return std::unexpected(response.error());
  auto document = nlohmann::json::parse(response->body, nullptr, false);
  bool complete = response->status == 200 && document.is_object();
  for (const char* member : members) complete = complete && document.contains(member) && document[member].is_string();
  if (!complete) return std::unexpected(service::error_from_problem(response->status, response->body));
  return document;
}

}  // namespace

PlatformClient PlatformClient::pinned(std::string base, http::ClientOptions client_options,
                                      attestation::VerifiedToken verified) {
  client_options.pinned_spki_sha256_hex = {crypto::hex_encode(crypto::sha256(verified.tls_key.spki_der()))};
  return PlatformClient(std::move(base), http::Client(std::move(client_options)), std::move(verified));
}

Result<PlatformClient> PlatformClient::connect(const std::string& url, http::ClientOptions client_options,
                                               std::shared_ptr<attestation::TokenVerifier> verifier) {
  std::string base = url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  auto document = fetch_attestation(http::Client(client_options), base, {"token"});
  if (!document) return std::unexpected(document.error());
  auto verified = verifier->verify((*document)["token"].get<std::string>());
  if (!verified) return std::unexpected(verified.error());
  return pinned(base, std::move(client_options), std::move(*verified));
}

Result<PlatformClient> PlatformClient::connect_appraised(const HospitalConfig& hospital,
                                                         http::ClientOptions client_options) {
  http::Client plain(client_options);
  auto fetched = fetch_attestation(plain, hospital.platform_url, {"format", "evidence", "runtime_data"});
  if (!fetched) return std::unexpected(fetched.error());
  const auto& evidence = *fetched;
  const auto format = evidence["format"].get<std::string>();
  if (format.empty() || format.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos) {
    return fail(ErrorCode::unsupported_format, "the platform names an evidence format that is not an identifier");
  }
  auto appraised = plain.post_json(hospital.attestation_url + "/attest/" + format,
                                   {{"evidence", evidence["evidence"]}, {"runtime_data", evidence["runtime_data"]}});
  if (!appraised) return std::unexpected(appraised.error());
  auto appraisal = nlohmann::json::parse(appraised->body, nullptr, false);
  if (appraised->status != 200 || !appraisal.is_object() || !appraisal.contains("token") || !appraisal["token"].is_string()) {
    return std::unexpected(service::error_from_problem(appraised->status, appraised->body));
  }
  auto verifier = make_hospital_verifier(hospital.attestation_url, client_options, hospital.policy);
  auto verified = verifier->verify(appraisal["token"].get<std::string>());
  if (!verified) return std::unexpected(verified.error());
  const auto policy_hash = verified->claims.value("policy_hash", std::string());
  if (!hospital.policy_hashes.empty() &&
      std::find(hospital.policy_hashes.begin(), hospital.policy_hashes.end(), policy_hash) == hospital.policy_hashes.end()) {
    return fail(ErrorCode::token_claims_invalid,
                "the attestation service appraised the evidence under policy " + policy_hash +
                    ", which is not one the hospital pinned (expected.policy_hashes)");
  }
  const auto left = verified->expires_at - SystemClock::instance().unix_seconds();
  if (left < hospital.min_token_validity_s) {
    return fail(ErrorCode::token_expired, "the token is valid for " + std::to_string(left) + " s only, the hospital wants " +
                                              std::to_string(hospital.min_token_validity_s) + " s");
  }
  auto client = pinned(hospital.platform_url, std::move(client_options), std::move(*verified));
  appraisal.erase("token");
  client.evidence_ = {{"format", format}, {"evidence_bytes", evidence["evidence"].get<std::string>().size() * 3 / 4},
                      {"simulated", evidence.value("simulated", false)}};
  client.appraisal_ = std::move(appraisal);
  return client;
}

Result<PlatformAnswer> PlatformClient::call(const std::string& method, const std::string& target, const std::string& body,
                                            const std::string& content_type,
                                            const std::map<std::string, std::string>& headers) const {
  service::InnerMessage inner;
  inner.method = method;
  inner.target = target;
  inner.headers = headers;
  if (!session_.empty()) inner.headers["Authorization"] = "Bearer " + session_;
  if (!body.empty()) inner.content_type = content_type;
  inner.body = body;
  auto answer = service::call_sealed(*client_, url_ + "/v1/sealed", {}, verified_.hpke_public_key, inner);
  if (!answer) return std::unexpected(answer.error());
  return PlatformAnswer{answer->status, answer->content_type, std::move(answer->body), std::move(answer->headers)};
}

Result<nlohmann::json> PlatformClient::login(const std::string& tenant, const std::string& username,
                                             const std::string& password) {
  auto answer = call("POST", "/v1/login",
                     nlohmann::json{{"tenant", tenant}, {"username", username}, {"password", password}}.dump());
  if (!answer) return std::unexpected(answer.error());
  if (answer->status != 200) return std::unexpected(service::error_from_problem(answer->status, answer->body));
  auto document = answer->json();
  if (!document.is_object() || !document.contains("token") || !document["token"].is_string()) {
    return fail(ErrorCode::upstream_failed, "the login answer holds no token");
  }
  session_ = document["token"].get<std::string>();
  return document;
}

std::shared_ptr<attestation::TokenVerifier> make_hospital_verifier(const std::string& attest_url,
                                                                   http::ClientOptions client_options,
                                                                   attestation::Policy policy) {
  std::string issuer = attest_url;
  while (!issuer.empty() && issuer.back() == '/') issuer.pop_back();
  auto jwks = std::make_shared<service::HttpJwksSource>(issuer, http::Client(std::move(client_options)));
  attestation::TokenVerifierOptions options;
  options.issuer = issuer;
  options.policy = std::move(policy);
  return std::make_shared<attestation::TokenVerifier>(std::move(jwks), std::move(options), SystemClock::instance());
}

}  // namespace cloister::platform

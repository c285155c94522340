#include "platform_client.h"

#include "cloister/crypto/hash.h"
#include "cloister/service/caller_auth.h"

namespace cloister::platform {

nlohmann::json PlatformAnswer::json() const { return nlohmann::json::parse(body, nullptr, false); }

std::string PlatformAnswer::code() const {
  auto document = json();
  if (status < 400 || !document.is_object() || !document.contains("code") || !document["code"].is_string()) return {};
  return document["code"].get<std::string>();
}

Result<PlatformClient> PlatformClient::connect(const std::string& url, http::ClientOptions client_options,
                                               std::shared_ptr<attestation::TokenVerifier> verifier) {
  std::string base = url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  http::Client plain(client_options);
  auto response = plain.get(base + "/v1/attestation");
  if (!response) return std::unexpected(response.error());
  auto document = nlohmann::json::parse(response->body, nullptr, false);
  if (response->status != 200 || !document.is_object() || !document.contains("token") || !document["token"].is_string()) {
    return std::unexpected(service::error_from_problem(response->status, response->body));
  }
  auto verified = verifier->verify(document["token"].get<std::string>());
  if (!verified) return std::unexpected(verified.error());
  client_options.pinned_spki_sha256_hex = {crypto::hex_encode(crypto::sha256(verified->tls_key.spki_der()))};
  return PlatformClient(base, http::Client(std::move(client_options)), std::move(*verified));
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

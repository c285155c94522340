#include "provider_client.h"

#include "cloister/crypto/hash.h"
#include "cloister/service/attested_service.h"

#include <nlohmann/json.hpp>

namespace cloister::platform {

ProviderClient::ProviderClient(std::string provider_url, service::AttestedIdentity& identity,
                               std::shared_ptr<attestation::TokenVerifier> verifier)
    : provider_url_(std::move(provider_url)), identity_(identity), verifier_(std::move(verifier)) {
  while (!provider_url_.empty() && provider_url_.back() == '/') provider_url_.pop_back();
}

Result<nlohmann::json> ProviderClient::call(const std::string& method, const std::string& path) const {
  auto client = identity_.make_client();
  auto evidence = client.get(provider_url_ + "/attestation");
  if (!evidence) return std::unexpected(evidence.error());
  auto document = nlohmann::json::parse(evidence->body, nullptr, false);
  if (evidence->status != 200 || !document.is_object() || !document.contains("token") || !document["token"].is_string()) {
    return fail(ErrorCode::upstream_failed, "the provider did not present an attestation token");
  }
  auto provider = verifier_->verify(document["token"].get<std::string>());
  if (!provider) {
    return fail(ErrorCode::upstream_failed, std::string("provider attestation refused: ") + std::string(provider.error().name()));
  }

  // Pin the connection to the attested TLS key of the provider.
  auto pin = crypto::hex_encode(crypto::sha256(provider->tls_key.spki_der()));
  auto pinned = identity_.make_client_pinned({pin});
  auto response = pinned.request(method, provider_url_ + path, {identity_.authorization_header()});
  if (!response) return std::unexpected(response.error());
  auto answer = nlohmann::json::parse(response->body, nullptr, false);
  if (response->status != 200) {
    std::string code = answer.is_object() ? answer.value("code", std::string("upstream_failed")) : "upstream_failed";
    return fail(ErrorCode::upstream_failed, "the provider refused the platform: " + code);
  }
  return nlohmann::json{{"provider", service::describe_caller(*provider)}, {"response", answer}};
}

}  // namespace cloister::platform

#include "provider_client.h"

#include "receipt.h"

#include "cloister/attestation/claims.h"
#include "cloister/crypto/hash.h"
#include "cloister/service/attested_service.h"
#include "cloister/service/sealed_http.h"

#include <openssl/crypto.h>

#include <algorithm>

namespace cloister::platform {

ProviderClient::ProviderClient(ProviderOptions options, service::AttestedIdentity& identity,
                               std::shared_ptr<attestation::TokenVerifier> verifier)
    : options_(std::move(options)), identity_(identity), verifier_(std::move(verifier)) {
  while (!options_.url.empty() && options_.url.back() == '/') options_.url.pop_back();
}

Result<ProviderClient::Verified> ProviderClient::verify_provider() const {
  if (options_.url.empty()) return fail(ErrorCode::unavailable, "provider.url is not configured");
  auto client = identity_.make_client();
  auto evidence = client.get(options_.url + "/attestation");
  if (!evidence) return std::unexpected(evidence.error());
  auto document = nlohmann::json::parse(evidence->body, nullptr, false);
  if (evidence->status != 200 || !document.is_object() || !document.contains("token") || !document["token"].is_string()) {
    return fail(ErrorCode::upstream_failed, "the provider did not present an attestation token");
  }
  auto provider = verifier_->verify(document["token"].get<std::string>());
  if (!provider) {
    Error error = provider.error();
    error.detail = "provider attestation refused: " + error.detail;
    return std::unexpected(std::move(error));
  }
  const auto measurement = provider->claims.value(std::string(attestation::claim::kMeasurement), std::string());
  if (std::find(options_.measurements.begin(), options_.measurements.end(), measurement) == options_.measurements.end()) {
    return fail(ErrorCode::policy_measurement_not_allowed,
                "the provider's measurement is not in provider.measurements (the platform's allow-list of provider builds)");
  }
  Verified verified{std::move(*provider), {}};
  verified.pin = crypto::hex_encode(crypto::sha256(verified.token.tls_key.spki_der()));
  return verified;
}

Result<nlohmann::json> ProviderClient::call(const std::string& method, const std::string& path) const {
  auto provider = verify_provider();
  if (!provider) return std::unexpected(provider.error());
  auto pinned = identity_.make_client_pinned({provider->pin});
  auto response = pinned.request(method, options_.url + path, {identity_.authorization_header()});
  if (!response) return std::unexpected(response.error());
  auto answer = nlohmann::json::parse(response->body, nullptr, false);
  if (response->status != 200) {
    std::string code = answer.is_object() ? answer.value("code", std::string("upstream_failed")) : "upstream_failed";
    return fail(ErrorCode::upstream_failed, "the provider refused the platform: " + code);
  }
  return nlohmann::json{{"provider", service::describe_caller(provider->token)}, {"response", answer}};
}

Result<ProviderAnswer> ProviderClient::diagnose(const std::string& model, const std::string& media_type,
                                                const std::string& image) const {
  auto provider = verify_provider();
  if (!provider) return std::unexpected(provider.error());
  auto client = identity_.make_client_pinned({provider->pin});
  service::InnerMessage inner;
  inner.content_type = media_type;
  inner.body = image;
  const auto deadline = std::to_string(options_.timeout.count());
  auto answer = service::call_sealed(client, options_.url + "/v1/models/" + model + "/diagnose",
                                     {identity_.authorization_header(), {std::string(infer::kTimeoutHeader), deadline}},
                                     provider->token.hpke_public_key, inner);
  OPENSSL_cleanse(inner.body.data(), inner.body.size());
  if (!answer) return std::unexpected(answer.error());
  if (answer->status != 200) return std::unexpected(service::error_from_problem(answer->status, answer->body));

  ProviderAnswer out;
  out.receipt = std::string(answer->header(infer::kReceiptHeader).value_or(""));
  out.provider_token = std::string(answer->header(infer::kProviderTokenHeader).value_or(""));
  if (out.receipt.empty() || out.provider_token.empty()) {
    return fail(ErrorCode::receipt_invalid, "the provider's answer carries no receipt or no provider token");
  }
  // The token the receipt names must be the attestation service's, for the provider just verified.
  auto named = verifier_->verify(out.provider_token);
  if (!named) return fail(ErrorCode::receipt_invalid, "the receipt's provider token does not verify: " + named.error().detail);
  if (named->tls_key.spki_der() != provider->token.tls_key.spki_der()) {
    return fail(ErrorCode::receipt_invalid, "the receipt's provider token names another TLS key");
  }
  const crypto::Bytes request_bytes(image.begin(), image.end());
  const crypto::Bytes response_bytes(answer->body.begin(), answer->body.end());
  auto payload = infer::verify_receipt(out.receipt, named->tls_key, out.provider_token, &request_bytes, &response_bytes);
  if (!payload) return std::unexpected(payload.error());
  out.receipt_id = payload->value("jti", std::string());
  out.diagnosis = nlohmann::json::parse(answer->body, nullptr, false);
  if (!out.diagnosis.is_object()) return fail(ErrorCode::upstream_failed, "the provider's diagnosis is not a JSON object");
  out.provider = service::describe_caller(provider->token);
  return out;
}

bool retryable(ErrorCode code) {
  switch (code) {
    case ErrorCode::image_decode_failed:
    case ErrorCode::image_unsupported_encoding:
    case ErrorCode::image_no_pixel_data:
    case ErrorCode::image_series_inconsistent:
    case ErrorCode::unsupported_media_type:
    case ErrorCode::payload_too_large:
    case ErrorCode::bad_request:
    case ErrorCode::invalid_argument:
    case ErrorCode::engine_input_invalid:
    case ErrorCode::engine_limit_exceeded:
    case ErrorCode::not_found:
      return false;
    default:
      return true;
  }
}

}  // namespace cloister::platform

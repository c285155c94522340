#include "receipt.h"

#include "cloister/crypto/hash.h"
#include "cloister/crypto/jwk.h"
#include "cloister/crypto/jws.h"
#include "cloister/crypto/random.h"

namespace cloister::infer {

namespace {
constexpr std::string_view kReceiptType = "cloister-receipt+jws";
std::string hex_sha256(crypto::BytesView bytes) { return crypto::hex_encode(crypto::sha256(bytes)); }

std::string thumbprint(const crypto::PublicKey& key) {
  auto jwk = crypto::public_key_to_jwk(key);
  if (!jwk) return {};
  auto print = crypto::jwk_thumbprint(*jwk);
  return print ? *print : std::string();
}
}  // namespace

ReceiptSigner::ReceiptSigner(const crypto::PrivateKey& key, std::function<std::string()> provider_token,
                             const Clock& clock)
    : key_(key), kid_(thumbprint(key.public_key())), provider_token_(std::move(provider_token)), clock_(clock) {}

Result<SignedReceipt> ReceiptSigner::sign(const ReceiptFacts& facts) const {
  const auto token = provider_token_();
  nlohmann::json payload = {
      {"iss", "cloister-infer"},
      {"iat", clock_.unix_seconds()},
      {"jti", crypto::random_hex(16)},
      {"endpoint", facts.endpoint},
      {"model", {{"name", facts.model_name}, {"version", facts.model_version}, {"sha256", facts.model_sha256}}},
      {"request_sha256", hex_sha256(facts.request_body)},
      {"response_sha256", hex_sha256(facts.response_body)},
      {"caller_jti", facts.caller_jti},
      {"provider_token_sha256", hex_sha256(crypto::as_bytes(token))},
  };
  auto receipt = crypto::jws_sign(key_, crypto::JwsAlgorithm::es256, {{"typ", kReceiptType}, {"kid", kid_}},
                                 crypto::as_bytes(payload.dump()));
  if (!receipt) return std::unexpected(receipt.error());
  return SignedReceipt{std::move(*receipt), token};
}

Result<nlohmann::json> verify_receipt(std::string_view receipt, const crypto::PublicKey& provider_key,
                                      std::string_view provider_token, const crypto::Bytes* request_body,
                                      const crypto::Bytes* response_body) {
  const crypto::JwsAlgorithm allowed[] = {crypto::JwsAlgorithm::es256};
  auto verified = crypto::jws_verify(
      receipt, [&provider_key](const nlohmann::json&) -> Result<crypto::PublicKey> { return provider_key; }, allowed);
  if (!verified) return fail(ErrorCode::receipt_invalid, "signature: " + std::string(verified.error().name()));
  if (verified->header.value("typ", std::string()) != kReceiptType) {
    return fail(ErrorCode::receipt_invalid, "not a Cloister receipt (typ)");
  }
  auto payload = nlohmann::json::parse(verified->payload.begin(), verified->payload.end(), nullptr, false);
  if (!payload.is_object() || !payload["provider_token_sha256"].is_string() || !payload["request_sha256"].is_string() ||
      !payload["response_sha256"].is_string()) {
    return fail(ErrorCode::receipt_invalid, "malformed payload");
  }
  if (payload["provider_token_sha256"] != hex_sha256(crypto::as_bytes(provider_token))) {
    return fail(ErrorCode::receipt_invalid, "the receipt was issued under another provider token");
  }
  if (request_body != nullptr && payload["request_sha256"] != hex_sha256(*request_body)) {
    return fail(ErrorCode::receipt_invalid, "the request does not match request_sha256");
  }
  if (response_body != nullptr && payload["response_sha256"] != hex_sha256(*response_body)) {
    return fail(ErrorCode::receipt_invalid, "the response does not match response_sha256");
  }
  return payload;
}

}  // namespace cloister::infer

#pragma once
// Inference receipts (docs/infer.md §6): every inference answer carries a JWS (ES256) signed with
// the provider's attested TLS key — the key its attestation token names — so a hospital can later
// prove which model, in which attested TEE, produced a diagnosis for which request:
//
//   header  {"alg": "ES256", "typ": "cloister-receipt+jws", "kid": "<JWK thumbprint of the key>"}
//   payload {"iss": "cloister-infer", "iat": <unix s>, "jti": "<receipt id>", "endpoint": "infer"|"diagnose",
//            "model": {"name", "version", "sha256"},
//            "request_sha256": hex(SHA-256(inner request body)), "response_sha256": hex(SHA-256(inner response body)),
//            "caller_jti": "<the caller's token jti>", "provider_token_sha256": hex(SHA-256(provider token))}
//
// Verifying needs the provider's attestation token — the answer carries the exact token the receipt
// names (Cloister-Provider-Token), so the caller keeps both even across token renewals: its
// signature by the attestation service, SHA-256(token) = provider_token_sha256, and the receipt's
// signature by the TLS key in the token's runtime data. The hashes are of plaintext inside the sealed
// response, so the receipt never leaves the sealed channel (a hash of a small PHI body could be guessed).

#include "cloister/core/clock.h"
#include "cloister/core/error.h"
#include "cloister/crypto/bytes.h"
#include "cloister/crypto/keys.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <string>

namespace cloister::infer {

// Inner response headers: the receipt, and the provider attestation token it names.
inline constexpr std::string_view kReceiptHeader = "Cloister-Receipt";
inline constexpr std::string_view kProviderTokenHeader = "Cloister-Provider-Token";
// Outer request header: the caller's deadline for the request, in milliseconds.
inline constexpr std::string_view kTimeoutHeader = "Cloister-Timeout-Ms";

struct ReceiptFacts {
  std::string endpoint;  // "infer" or "diagnose"
  std::string model_name;
  std::string model_version;
  std::string model_sha256;
  crypto::BytesView request_body;
  crypto::BytesView response_body;
  std::string caller_jti;
};

struct SignedReceipt {
  std::string receipt;         // the compact JWS
  std::string provider_token;  // the token it names (provider_token_sha256), sent with it
};

class ReceiptSigner {
 public:
  // `provider_token` gives the provider's current attestation token (it changes on renewal).
  ReceiptSigner(const crypto::PrivateKey& key, std::function<std::string()> provider_token, const Clock& clock);
  Result<SignedReceipt> sign(const ReceiptFacts& facts) const;

 private:
  const crypto::PrivateKey& key_;
  std::string kid_;
  std::function<std::string()> provider_token_;
  const Clock& clock_;
};

// Checks a receipt against the provider's attested TLS key and its token, and (when given) the
// request and response bodies. receipt_invalid naming what does not match; the payload when all do.
Result<nlohmann::json> verify_receipt(std::string_view receipt, const crypto::PublicKey& provider_key,
                                      std::string_view provider_token, const crypto::Bytes* request_body = nullptr,
                                      const crypto::Bytes* response_body = nullptr);

}  // namespace cloister::infer

#pragma once
// The platform's side of step 5 (DESIGN.md): mutual attestation with the diagnostic provider.
//  1. fetch the provider's GET /attestation and verify its token with the platform's verifier and
//     policy (policy.*), and its measurement against the platform's allow-list of provider builds
//     (provider.measurements): only an approved provider binary in a TEE ever sees an image;
//  2. connect again with mutual TLS, pinning the server key to the TLS key that token attests (a
//     provider whose TLS key is not the attested one is refused at the handshake);
//  3. send the platform's own token (Authorization: Attestation) over that connection, and for a
//     diagnosis, the image sealed (sealed_http.h) to the provider's attested HPKE key;
//  4. check the answer's receipt: signed by the attested TLS key, naming a provider token that the
//     attestation service signed, over exactly the request and response bodies.

#include "cloister/attestation/token_verifier.h"
#include "cloister/service/attested_identity.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace cloister::platform {

struct ProviderOptions {
  std::string url;                        // provider.url
  std::vector<std::string> measurements;  // provider.measurements (lower-case hex); empty: none allowed
  std::chrono::milliseconds timeout{120000};
};

struct ProviderAnswer {
  nlohmann::json diagnosis;  // the provider's findings
  std::string receipt;       // verified
  std::string receipt_id;    // its jti
  std::string provider_token;
  nlohmann::json provider;   // what was verified about the provider (describe_caller)
};

class ProviderClient {
 public:
  ProviderClient(ProviderOptions options, service::AttestedIdentity& identity,
                 std::shared_ptr<attestation::TokenVerifier> verifier);

  // Verifies the provider, then calls `path` with the platform's token: the provider's JSON answer
  // plus what the platform verified about the provider.
  Result<nlohmann::json> call(const std::string& method, const std::string& path) const;

  // Runs `model` on an image (sealed both ways) and verifies the receipt. Errors: the provider's own
  // codes (image_decode_failed, model_unavailable, …), policy_* / policy_measurement_not_allowed for a
  // provider the platform does not accept, receipt_invalid, upstream_failed / upstream_timeout.
  Result<ProviderAnswer> diagnose(const std::string& model, const std::string& media_type, const std::string& image) const;

  const ProviderOptions& options() const { return options_; }

 private:
  struct Verified {
    attestation::VerifiedToken token;
    std::string pin;  // SPKI SHA-256 of its TLS key
  };
  Result<Verified> verify_provider() const;

  ProviderOptions options_;
  service::AttestedIdentity& identity_;
  std::shared_ptr<attestation::TokenVerifier> verifier_;
};

// Whether a failed attempt may succeed later (the provider or the network) or never will (the input).
bool retryable(ErrorCode code);

}  // namespace cloister::platform

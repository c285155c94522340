#pragma once
// The platform's side of step 5 (DESIGN.md): mutual attestation with the diagnostic provider.
//  1. fetch the provider's GET /attestation and verify its token with the platform's verifier and
//     policy (the provider must be an approved TEE);
//  2. connect again with mutual TLS, pinning the server key to the TLS key that token attests (a
//     provider whose TLS key is not the attested one is refused at the handshake);
//  3. send the platform's own token (Authorization: Attestation) over that connection.

#include "cloister/attestation/token_verifier.h"
#include "cloister/service/attested_identity.h"

#include <nlohmann/json_fwd.hpp>

#include <string>

namespace cloister::platform {

class ProviderClient {
 public:
  ProviderClient(std::string provider_url, service::AttestedIdentity& identity,
                 std::shared_ptr<attestation::TokenVerifier> verifier);

  // Verifies the provider, then calls `path` with the platform's token: the provider's JSON answer
  // plus what the platform verified about the provider.
  Result<nlohmann::json> call(const std::string& method, const std::string& path) const;

 private:
  std::string provider_url_;
  service::AttestedIdentity& identity_;
  std::shared_ptr<attestation::TokenVerifier> verifier_;
};

}  // namespace cloister::platform

#pragma once
// The sim verifier: checks a sim report against the configured simulated-platform keys and yields
// claims with tee "sim", tcb_status "Simulated" and x-cloister-simulated true.

#include <array>
#include <vector>

#include "cloister/attestation/evidence_verifier.h"
#include "cloister/crypto/keys.h"
#include "formats/sim/sim_report.h"

namespace cloister::attestation::sim {

class SimVerifier final : public EvidenceVerifier {
 public:
  explicit SimVerifier(std::vector<crypto::PublicKey> trusted_platform_keys);

  std::string_view format_id() const override;

 protected:
  // evidence_malformed (sim_report::parse), evidence_untrusted_platform (key id not configured),
  // evidence_signature_invalid. Format claims: {"version": 1, "platform_key_id": "<hex>"}.
  Result<VerifiedEvidence> verify_format(const Evidence& evidence, const Collateral& collateral,
                                         const VerificationContext& context) const override;

 private:
  struct TrustedKey {
    std::array<std::uint8_t, kPlatformKeyIdSize> id;
    crypto::PublicKey key;
  };
  std::vector<TrustedKey> trusted_;
};

}  // namespace cloister::attestation::sim

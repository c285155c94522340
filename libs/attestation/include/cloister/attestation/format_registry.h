#pragma once
// The one explicit list of evidence formats (no self-registration: static libraries drop
// self-registering objects). A new format adds one line to make_evidence_verifiers (and, when it
// can attest, one to make_attester) in src/format_registry.cpp and must pass test/conformance_test.cpp.

#include <memory>
#include <string_view>
#include <vector>

#include "cloister/attestation/attester.h"
#include "cloister/attestation/evidence_verifier.h"
#include "cloister/core/error.h"
#include "cloister/crypto/keys.h"
#include "formats/sim/sim_attester.h"

namespace cloister::attestation {

// What the verifiers of every format are configured with.
struct FormatConfig {
  // The simulated-platform public keys the sim verifier trusts (ECDSA P-256). Empty: every sim
  // evidence is refused with evidence_untrusted_platform.
  std::vector<crypto::PublicKey> sim_platform_keys;
};

// One verifier per supported format, in a fixed order.
std::vector<std::unique_ptr<EvidenceVerifier>> make_evidence_verifiers(const FormatConfig& config);

// The verifier for `format`; unsupported_format when none has that id.
Result<const EvidenceVerifier*> find(const std::vector<std::unique_ptr<EvidenceVerifier>>& verifiers,
                                     std::string_view format);

// What the attesters of every format are configured with.
struct AttesterConfig {
  sim::SimAttesterOptions sim;
};

// The attester for `format` on this machine; unsupported_format for a format with no attester here,
// or the attester's own error (e.g. an unreadable platform key).
Result<std::unique_ptr<Attester>> make_attester(std::string_view format, const AttesterConfig& config);

}  // namespace cloister::attestation

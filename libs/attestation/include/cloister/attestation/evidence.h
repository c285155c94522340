#pragma once
// Evidence (what an attester produces about itself) and collateral (endorsements a verifier needs
// besides the evidence), in RATS vocabulary.

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "cloister/core/clock.h"
#include "cloister/crypto/bytes.h"

namespace cloister::attestation {

struct Evidence {
  std::string format;                 // the format id: "sim", later "sgx", "tdx", "snp"
  crypto::Bytes evidence;             // the format's report/quote, exactly as the attester produced it
  crypto::Bytes runtime_data;         // the exact runtime-data bytes (runtime_data.h) the report binds
  std::optional<std::string> nonce;   // when set, the runtime data must carry this same nonce
};

// Endorsements the verifier needs besides the evidence: for sgx/tdx the PCK certificate chain and
// CRLs, TCB info and QE identity; for snp the VCEK/VLEK chain. Formats that need collateral read
// their documents from here (a later issue defines their members); the sim format needs none and
// ignores it.
struct Collateral {
  nlohmann::json documents = nlohmann::json::object();
};

// What verification is judged against; the clock decides collateral and certificate validity.
struct VerificationContext {
  const Clock& clock;
};

}  // namespace cloister::attestation

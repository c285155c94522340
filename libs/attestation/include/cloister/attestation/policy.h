#pragma once
// Policy: what evidence (at the attestation service) or which token claims (at a relying party) are
// acceptable. The same shape serves both; docs/tokens.md documents the JSON form.
//
//   {"tee_types":["sgx","tdx","snp"], "measurements":["<hex>",…], "signers":["<hex>",…],
//    "min_svn":0, "allow_debug":false, "allow_simulated":false, "tcb_statuses":["UpToDate"]}
//
// Every member is optional in from_json (missing = the default below); unknown members are refused.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cloister/attestation/claims.h"
#include "cloister/core/error.h"

namespace cloister::attestation {

struct Policy {
  // Allowed TEE types. "sim" is governed by allow_simulated alone: listing it here is not enough.
  std::vector<std::string> tee_types{std::string(tee::kSgx), std::string(tee::kTdx), std::string(tee::kSnp)};
  // Allowed measurements (lower-case hex); empty = any.
  std::vector<std::string> measurements;
  // Allowed signers (lower-case hex); empty = any. When non-empty a token without a signer fails.
  std::vector<std::string> signers;
  std::uint64_t min_svn = 0;
  bool allow_debug = false;
  // The sim TEE proves nothing about hardware: refused unless this is true. When true, a sim token
  // also passes the TEE-type check and its "Simulated" TCB status is accepted.
  bool allow_simulated = false;
  // Allowed TCB statuses (tcb_status::k*).
  std::vector<std::string> tcb_statuses{std::string(tcb_status::kUpToDate)};

  // policy_invalid on anything but an object of the members above with the right types, valid hex
  // and known TEE types and TCB statuses. Hex is normalised to lower case.
  static Result<Policy> from_json(const nlohmann::json& document);
  // Canonical form: every member, lists sorted and de-duplicated.
  nlohmann::json to_json() const;
  // SHA-256 (lower-case hex) of to_json().dump() — compact, members sorted: the same effective policy
  // always has the same hash; any change gives another.
  std::string hash() const;

  // Appraises token claims (or to_claims_json of verified evidence). The first failing check gives
  // the code, in this order: policy_simulated_not_allowed (tee "sim" or x-cloister-simulated true),
  // policy_tee_not_allowed, policy_measurement_not_allowed, policy_signer_not_allowed,
  // policy_svn_too_low, policy_debug_not_allowed, policy_tcb_status_not_allowed. A claim the
  // policy needs that is missing or of the wrong type gives token_claims_invalid.
  Status check(const nlohmann::json& claims) const;
};

}  // namespace cloister::attestation

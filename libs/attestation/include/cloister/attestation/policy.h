#pragma once
// Policy: what evidence (at the attestation service) or which token claims (at a relying party) are
// acceptable. The same shape serves both; docs/tokens.md documents the JSON form.
//
//   {"tee_types":["sgx","tdx","snp"], "measurements":["<hex>",…], "signers":["<hex>",…],
//    "product_ids":[0,…], "min_svn":0, "allow_debug":false, "allow_simulated":false,
//    "tcb_statuses":["UpToDate"], "required_runtime_data":["nonce"]}
//
// Every member is optional in from_json (missing = the default below); unknown members are refused.
// product_ids and required_runtime_data are left out of the canonical form while empty, so policies
// that do not use them keep the hash they always had.
//
// Each member is a *rule*; a refusal names the rule that failed (policy_rule::k*), and evaluate()
// judges every rule on its own (the attestation service's dry-run).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cloister/attestation/claims.h"
#include "cloister/core/error.h"

namespace cloister::attestation {

// Rule names: the policy member each check enforces, and "claims" for claims a check needs that are
// missing or mistyped.
namespace policy_rule {
inline constexpr std::string_view kClaims = "claims";
inline constexpr std::string_view kAllowSimulated = "allow_simulated";
inline constexpr std::string_view kTeeTypes = "tee_types";
inline constexpr std::string_view kMeasurements = "measurements";
inline constexpr std::string_view kSigners = "signers";
inline constexpr std::string_view kProductIds = "product_ids";
inline constexpr std::string_view kMinSvn = "min_svn";
inline constexpr std::string_view kAllowDebug = "allow_debug";
inline constexpr std::string_view kTcbStatuses = "tcb_statuses";
inline constexpr std::string_view kRequiredRuntimeData = "required_runtime_data";
}  // namespace policy_rule

// The outcome of one rule: passed, or the error it gave (a policy_* code, or token_claims_invalid
// when the claim it needs is missing or mistyped).
struct RuleOutcome {
  std::string rule;  // policy_rule::k*
  std::optional<Error> failure;
  bool passed() const { return !failure.has_value(); }
};

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
  // Allowed product ids (the product_id claim: SGX ISVPRODID, sim: configured); empty = any.
  std::vector<std::uint32_t> product_ids;
  // Members the runtime data (the `runtime` claim) must carry, e.g. "nonce" to demand evidence bound
  // to a fresh nonce. Names: 1–64 of [a-z0-9_]. Empty = none.
  std::vector<std::string> required_runtime_data;

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
  // policy_product_id_not_allowed, policy_svn_too_low, policy_debug_not_allowed,
  // policy_tcb_status_not_allowed, policy_runtime_data_missing. A claim the policy needs that is
  // missing or of the wrong type gives token_claims_invalid.
  Status check(const nlohmann::json& claims) const;
  // The same, naming the rule: nullopt when every rule passes, else the first failing rule.
  std::optional<RuleOutcome> first_failure(const nlohmann::json& claims) const;
  // Every rule judged on its own, in check() order (a dry-run shows all failures at once). When the
  // claims are not an object or tee / x-cloister-simulated are missing or mistyped, one "claims"
  // outcome with token_claims_invalid.
  std::vector<RuleOutcome> evaluate(const nlohmann::json& claims) const;
};

}  // namespace cloister::attestation

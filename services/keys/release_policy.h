#pragma once
// ReleasePolicy: which attested callers may have a key (docs/keys.md, "Release policies"). A JSON
// document over the claims of the caller's verified attestation token (docs/tokens.md):
//
//   {"any_of": [ {"name": "prod-sgx", "allow_simulated": false,
//                 "all_of": [ {"claim": "tee", "in": ["sgx", "tdx", "snp"]},
//                             {"claim": "measurement", "equals": "<hex>"},
//                             {"claim": "svn", "min": 2},
//                             {"claim": "debuggable", "equals": false},
//                             {"claim": "tcb_status", "in": ["UpToDate"]} ]} ]}
//   or one clause at the top:  {"name": "…", "allow_simulated": false, "all_of": [ … ]}
//
// A rule is {"claim": <path>, <operator>: <value>} with one operator: `equals` (a string, integer or
// boolean), `in` (a non-empty list of them) or `min` (an integer; the claim must be an integer ≥ it).
// A path is a token claim name, or a dotted path into the object claims `runtime` and
// `x-cloister-format-claims` (e.g. "x-cloister-format-claims.platform_key_id"). Values are checked
// against the claim: booleans for `debuggable`, integers for `svn`, known TEE types and TCB statuses,
// hex for `measurement`/`signer` (normalised to lower case).
//
// The sim TEE (tee "sim" or x-cloister-simulated true) fails a clause unless the clause says
// "allow_simulated": true (rule "allow_simulated"), whatever its rules say. The default policy of a
// new key refuses sim. A clause passes when every rule passes; the policy passes when a clause does.
// A refusal reports, for each clause, the first rule that failed and what the token had.
//
// from_json refuses (policy_invalid) unknown members or operators, empty lists, unknown claims,
// malformed paths and values of the wrong type.

#include "cloister/core/error.h"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace cloister::keys {

enum class RuleOperator { equals, in, min };

struct ReleaseRule {
  std::string claim;  // dotted path
  RuleOperator op = RuleOperator::equals;
  nlohmann::json value;  // equals: a scalar; in: a list of scalars; min: an integer

  // "svn min 2", "tee in [\"sgx\",\"tdx\"]", "debuggable equals false": how refusals name the rule.
  std::string describe() const;
  nlohmann::json to_json() const;
};

struct ReleaseClause {
  std::string name;
  bool allow_simulated = false;
  std::vector<ReleaseRule> all_of;
};

// Why one clause did not pass.
struct ClauseFailure {
  std::string clause;
  std::string rule;    // ReleaseRule::describe(), or "allow_simulated"
  std::string detail;  // what the token had, e.g. "svn is 1", "claim signer is missing"
  nlohmann::json to_json() const;
};

struct ReleaseDecision {
  bool allowed = false;
  std::string clause;                   // when allowed: the clause that passed
  std::vector<ClauseFailure> failures;  // when refused: one per clause, in order
  // "prod-sgx: svn min 2; dev: allow_simulated" (empty when allowed).
  std::string failed_rule() const;
};

class ReleasePolicy {
 public:
  // policy_invalid with the reason.
  static Result<ReleasePolicy> from_json(const nlohmann::json& document);
  // A new key's policy when none is given: real TEEs only (sgx, tdx, snp), not debuggable, TCB up to
  // date; never sim. Pin a measurement for production keys.
  static ReleasePolicy default_policy();

  // The canonical form: {"any_of": [...]} or {"all_of": [...], "allow_simulated", "name"}, every
  // clause with its name and allow_simulated, hex lower-case.
  nlohmann::json to_json() const;
  // SHA-256 (lower-case hex) of to_json().dump().
  std::string hash() const;

  ReleaseDecision evaluate(const nlohmann::json& claims) const;

  const std::vector<ReleaseClause>& clauses() const { return clauses_; }

 private:
  bool any_of_ = false;  // the document's form
  std::vector<ReleaseClause> clauses_;
};

}  // namespace cloister::keys

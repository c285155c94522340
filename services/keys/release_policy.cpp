#include "release_policy.h"

#include "cloister/attestation/claims.h"
#include "cloister/crypto/hash.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <set>

namespace cloister::keys {
namespace {

namespace claim = attestation::claim;

constexpr std::size_t kMaxClauses = 32;
constexpr std::size_t kMaxRules = 64;
constexpr std::size_t kMaxListValues = 256;
constexpr std::size_t kMaxStringValue = 1024;
constexpr std::size_t kMaxPathSegments = 4;
constexpr std::size_t kMaxSegment = 64;
constexpr std::size_t kMaxName = 64;
constexpr std::size_t kMaxDetailValue = 100;

constexpr std::string_view kAnyOf = "any_of";
constexpr std::string_view kAllOf = "all_of";
constexpr std::string_view kName = "name";
constexpr std::string_view kAllowSimulated = "allow_simulated";
constexpr std::string_view kClaim = "claim";
constexpr std::string_view kEquals = "equals";
constexpr std::string_view kIn = "in";
constexpr std::string_view kMin = "min";

// What a claim holds, for checking a rule's values when the policy is written.
enum class ClaimKind { string, hex, integer, boolean, tee, tcb_status, object, list, nested };

struct KnownClaim {
  std::string_view name;
  ClaimKind kind;
};

// Every claim of docs/tokens.md §1 (aud: when a verifier is configured with an audience).
constexpr std::array<KnownClaim, 21> kKnownClaims{{
    {claim::kIssuer, ClaimKind::string},
    {claim::kIssuedAt, ClaimKind::integer},
    {claim::kNotBefore, ClaimKind::integer},
    {claim::kExpiresAt, ClaimKind::integer},
    {claim::kJwtId, ClaimKind::string},
    {claim::kAudience, ClaimKind::string},
    {claim::kNonce, ClaimKind::string},
    {claim::kTee, ClaimKind::tee},
    {claim::kFormat, ClaimKind::tee},
    {claim::kSimulated, ClaimKind::boolean},
    {claim::kMeasurement, ClaimKind::hex},
    {claim::kSigner, ClaimKind::hex},
    {claim::kProductId, ClaimKind::integer},
    {claim::kSvn, ClaimKind::integer},
    {claim::kDebuggable, ClaimKind::boolean},
    {claim::kTcbStatus, ClaimKind::tcb_status},
    {claim::kAdvisoryIds, ClaimKind::list},
    {claim::kReportData, ClaimKind::hex},
    {claim::kRuntime, ClaimKind::object},
    {claim::kPolicyHash, ClaimKind::hex},
    {claim::kFormatClaims, ClaimKind::object},
}};

Error invalid(std::string detail) { return Error{ErrorCode::policy_invalid, std::move(detail)}; }

bool is_name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-';
}

bool is_segment(std::string_view segment) {
  return !segment.empty() && segment.size() <= kMaxSegment && std::all_of(segment.begin(), segment.end(), [](char c) {
           return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
         });
}

bool is_hex(std::string_view text) {
  return !text.empty() && text.size() % 2 == 0 && text.size() <= 256 &&
         std::all_of(text.begin(), text.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
}

bool is_tee(std::string_view value) {
  return value == attestation::tee::kSgx || value == attestation::tee::kTdx || value == attestation::tee::kSnp ||
         value == attestation::tee::kSim;
}

// The claim's kind for a path; policy_invalid for a malformed path or an unknown claim.
Result<ClaimKind> kind_of_path(std::string_view path) {
  std::vector<std::string_view> segments;
  std::size_t start = 0;
  while (true) {
    auto dot = path.find('.', start);
    segments.push_back(path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (segments.size() > kMaxPathSegments) return std::unexpected(invalid("claim path too deep"));
  for (auto segment : segments) {
    if (!is_segment(segment)) {
      return std::unexpected(invalid("a claim path is dot-separated names of [A-Za-z0-9_-] (1-64 characters)"));
    }
  }
  auto known = std::find_if(kKnownClaims.begin(), kKnownClaims.end(),
                            [&](const KnownClaim& candidate) { return candidate.name == segments.front(); });
  if (known == kKnownClaims.end()) {
    return std::unexpected(invalid("unknown claim \"" + std::string(segments.front()) + "\" (docs/tokens.md)"));
  }
  if (known->kind == ClaimKind::object) {
    if (segments.size() == 1) {
      return std::unexpected(invalid(std::string(known->name) + " is an object: name a member (" +
                                     std::string(known->name) + ".<member>)"));
    }
    return ClaimKind::nested;
  }
  if (segments.size() > 1) return std::unexpected(invalid(std::string(known->name) + " has no members"));
  if (known->kind == ClaimKind::list) {
    return std::unexpected(invalid(std::string(known->name) + " is a list: no rule applies to it"));
  }
  return known->kind;
}

// Checks (and normalises) one value a rule compares the claim with.
Result<nlohmann::json> checked_value(const nlohmann::json& value, ClaimKind kind, std::string_view claim_name) {
  const std::string name(claim_name);
  auto is_scalar = value.is_string() || value.is_boolean() || value.is_number_integer();
  if (!is_scalar) return std::unexpected(invalid(name + ": a value is a string, an integer or a boolean"));
  if (value.is_string() && value.get_ref<const std::string&>().size() > kMaxStringValue) {
    return std::unexpected(invalid(name + ": value too long"));
  }
  switch (kind) {
    case ClaimKind::string:
      if (!value.is_string()) return std::unexpected(invalid(name + " is a string"));
      return value;
    case ClaimKind::hex: {
      if (!value.is_string() || !is_hex(value.get_ref<const std::string&>())) {
        return std::unexpected(invalid(name + " is hex (an even number of hex digits)"));
      }
      std::string lower = value.get<std::string>();
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      return nlohmann::json(lower);
    }
    case ClaimKind::integer:
      if (!value.is_number_integer()) return std::unexpected(invalid(name + " is an integer"));
      return value;
    case ClaimKind::boolean:
      if (!value.is_boolean()) return std::unexpected(invalid(name + " is a boolean"));
      return value;
    case ClaimKind::tee:
      if (!value.is_string() || !is_tee(value.get_ref<const std::string&>())) {
        return std::unexpected(invalid(name + ": a TEE type is sgx, tdx, snp or sim"));
      }
      return value;
    case ClaimKind::tcb_status:
      if (!value.is_string() || !attestation::tcb_status::is_known(value.get_ref<const std::string&>())) {
        return std::unexpected(invalid(name + ": unknown TCB status"));
      }
      return value;
    case ClaimKind::nested:
      return value;
    case ClaimKind::object:
    case ClaimKind::list:
      break;
  }
  return std::unexpected(invalid(name + ": no rule applies to this claim"));
}

Result<ReleaseRule> parse_rule(const nlohmann::json& document) {
  if (!document.is_object() || document.size() != 2 || !document.contains(kClaim) || !document[kClaim].is_string()) {
    return std::unexpected(invalid("a rule is {\"claim\": <path>, \"equals\"|\"in\"|\"min\": <value>}"));
  }
  ReleaseRule rule;
  rule.claim = document[kClaim].get<std::string>();
  auto kind = kind_of_path(rule.claim);
  if (!kind) return std::unexpected(kind.error());
  for (const auto& [key, value] : document.items()) {
    if (key == kClaim) continue;
    if (key == kEquals) {
      rule.op = RuleOperator::equals;
      auto checked = checked_value(value, *kind, rule.claim);
      if (!checked) return std::unexpected(checked.error());
      rule.value = std::move(*checked);
    } else if (key == kIn) {
      rule.op = RuleOperator::in;
      if (!value.is_array() || value.empty() || value.size() > kMaxListValues) {
        return std::unexpected(invalid(rule.claim + ": \"in\" takes a non-empty list (at most 256 values)"));
      }
      rule.value = nlohmann::json::array();
      for (const auto& item : value) {
        auto checked = checked_value(item, *kind, rule.claim);
        if (!checked) return std::unexpected(checked.error());
        if (std::find(rule.value.begin(), rule.value.end(), *checked) == rule.value.end()) {
          rule.value.push_back(std::move(*checked));
        }
      }
    } else if (key == kMin) {
      rule.op = RuleOperator::min;
      if (*kind != ClaimKind::integer && *kind != ClaimKind::nested) {
        return std::unexpected(invalid(rule.claim + ": \"min\" applies to integer claims only"));
      }
      if (!value.is_number_integer()) return std::unexpected(invalid(rule.claim + ": \"min\" takes an integer"));
      rule.value = value;
    } else {
      return std::unexpected(invalid("unknown operator \"" + key.substr(0, 32) + "\" (equals, in, min)"));
    }
  }
  return rule;
}

Result<ReleaseClause> parse_clause(const nlohmann::json& document, std::string default_name) {
  if (!document.is_object()) return std::unexpected(invalid("a clause is {\"name\", \"allow_simulated\", \"all_of\"}"));
  ReleaseClause clause;
  clause.name = std::move(default_name);
  bool has_rules = false;
  for (const auto& [key, value] : document.items()) {
    if (key == kName) {
      if (!value.is_string()) return std::unexpected(invalid("a clause name is a string"));
      const auto& name = value.get_ref<const std::string&>();
      if (name.empty() || name.size() > kMaxName || !std::all_of(name.begin(), name.end(), is_name_char)) {
        return std::unexpected(invalid("a clause name is 1-64 of [A-Za-z0-9._-]"));
      }
      clause.name = name;
    } else if (key == kAllowSimulated) {
      if (!value.is_boolean()) return std::unexpected(invalid("allow_simulated is a boolean"));
      clause.allow_simulated = value.get<bool>();
    } else if (key == kAllOf) {
      if (!value.is_array() || value.empty() || value.size() > kMaxRules) {
        return std::unexpected(invalid("all_of takes a non-empty list of rules (at most 64)"));
      }
      for (const auto& item : value) {
        auto rule = parse_rule(item);
        if (!rule) return std::unexpected(rule.error());
        clause.all_of.push_back(std::move(*rule));
      }
      has_rules = true;
    } else {
      return std::unexpected(invalid("unknown member \"" + key.substr(0, 32) + "\" (any_of, all_of, name, allow_simulated)"));
    }
  }
  if (!has_rules) return std::unexpected(invalid("a clause needs all_of"));
  return clause;
}

// The claim at a dotted path, or nullptr.
const nlohmann::json* lookup(const nlohmann::json& claims, std::string_view path) {
  const nlohmann::json* node = &claims;
  std::size_t start = 0;
  while (true) {
    auto dot = path.find('.', start);
    auto segment = path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (!node->is_object()) return nullptr;
    auto it = node->find(std::string(segment));
    if (it == node->end()) return nullptr;
    node = &*it;
    if (dot == std::string_view::npos) return node;
    start = dot + 1;
  }
}

std::string shown(const nlohmann::json& value) {
  auto text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > kMaxDetailValue) text = text.substr(0, kMaxDetailValue) + "…";
  return text;
}

bool same_value(const nlohmann::json& claim_value, const nlohmann::json& expected) {
  // Booleans never equal numbers; integers compare by value (signed or unsigned).
  if (claim_value.is_boolean() != expected.is_boolean()) return false;
  if (expected.is_number_integer()) return claim_value.is_number_integer() && claim_value == expected;
  return claim_value == expected;
}

bool at_least(const nlohmann::json& claim_value, const nlohmann::json& minimum) {
  const auto bound = minimum.get<std::int64_t>();
  if (claim_value.is_number_unsigned()) {
    return bound < 0 || claim_value.get<std::uint64_t>() >= static_cast<std::uint64_t>(bound);
  }
  return claim_value.get<std::int64_t>() >= bound;
}

// nullopt when the rule passes, else what the token had.
std::optional<std::string> check_rule(const ReleaseRule& rule, const nlohmann::json& claims) {
  const auto* value = lookup(claims, rule.claim);
  if (value == nullptr) return "claim " + rule.claim + " is missing";
  switch (rule.op) {
    case RuleOperator::equals:
      if (same_value(*value, rule.value)) return std::nullopt;
      return rule.claim + " is " + shown(*value);
    case RuleOperator::in:
      for (const auto& candidate : rule.value) {
        if (same_value(*value, candidate)) return std::nullopt;
      }
      return rule.claim + " is " + shown(*value);
    case RuleOperator::min:
      if (!value->is_number_integer()) return rule.claim + " is not an integer";
      if (at_least(*value, rule.value)) return std::nullopt;
      return rule.claim + " is " + shown(*value);
  }
  return "unknown operator";
}

bool is_simulated(const nlohmann::json& claims) {
  const auto tee = claims.find(claim::kTee);
  const auto simulated = claims.find(claim::kSimulated);
  return (tee != claims.end() && tee->is_string() && tee->get_ref<const std::string&>() == attestation::tee::kSim) ||
         (simulated != claims.end() && (!simulated->is_boolean() || simulated->get<bool>()));
}

nlohmann::json clause_json(const ReleaseClause& clause) {
  nlohmann::json rules = nlohmann::json::array();
  for (const auto& rule : clause.all_of) rules.push_back(rule.to_json());
  return {{std::string(kName), clause.name},
          {std::string(kAllowSimulated), clause.allow_simulated},
          {std::string(kAllOf), std::move(rules)}};
}

}  // namespace

std::string ReleaseRule::describe() const {
  std::string_view op_name = op == RuleOperator::equals ? kEquals : op == RuleOperator::in ? kIn : kMin;
  return claim + " " + std::string(op_name) + " " + shown(value);
}

nlohmann::json ReleaseRule::to_json() const {
  std::string_view op_name = op == RuleOperator::equals ? kEquals : op == RuleOperator::in ? kIn : kMin;
  return {{std::string(kClaim), claim}, {std::string(op_name), value}};
}

nlohmann::json ClauseFailure::to_json() const { return {{"clause", clause}, {"rule", rule}, {"detail", detail}}; }

std::string ReleaseDecision::failed_rule() const {
  std::string text;
  for (const auto& failure : failures) {
    if (!text.empty()) text += "; ";
    text += failure.clause + ": " + failure.rule;
  }
  return text;
}

Result<ReleasePolicy> ReleasePolicy::from_json(const nlohmann::json& document) {
  if (!document.is_object()) return std::unexpected(invalid("a release policy is a JSON object"));
  ReleasePolicy policy;
  if (document.contains(kAnyOf)) {
    if (document.size() != 1) return std::unexpected(invalid("any_of stands alone at the top of a policy"));
    const auto& clauses = document[kAnyOf];
    if (!clauses.is_array() || clauses.empty() || clauses.size() > kMaxClauses) {
      return std::unexpected(invalid("any_of takes a non-empty list of clauses (at most 32)"));
    }
    policy.any_of_ = true;
    std::set<std::string> names;
    for (std::size_t i = 0; i < clauses.size(); ++i) {
      auto clause = parse_clause(clauses[i], "clause-" + std::to_string(i + 1));
      if (!clause) return std::unexpected(clause.error());
      if (!names.insert(clause->name).second) return std::unexpected(invalid("duplicate clause name " + clause->name));
      policy.clauses_.push_back(std::move(*clause));
    }
    return policy;
  }
  auto clause = parse_clause(document, std::string(kAllOf));
  if (!clause) return std::unexpected(clause.error());
  policy.clauses_.push_back(std::move(*clause));
  return policy;
}

ReleasePolicy ReleasePolicy::default_policy() {
  ReleasePolicy policy;
  ReleaseClause clause;
  clause.name = "default";
  clause.all_of = {
      {std::string(claim::kTee), RuleOperator::in, nlohmann::json::array({"sgx", "tdx", "snp"})},
      {std::string(claim::kDebuggable), RuleOperator::equals, nlohmann::json(false)},
      {std::string(claim::kTcbStatus), RuleOperator::in,
       nlohmann::json::array({std::string(attestation::tcb_status::kUpToDate)})},
  };
  policy.clauses_.push_back(std::move(clause));
  return policy;
}

nlohmann::json ReleasePolicy::to_json() const {
  if (!any_of_ && clauses_.size() == 1) return clause_json(clauses_.front());
  nlohmann::json clauses = nlohmann::json::array();
  for (const auto& clause : clauses_) clauses.push_back(clause_json(clause));
  return {{std::string(kAnyOf), std::move(clauses)}};
}

std::string ReleasePolicy::hash() const { return crypto::hex_encode(crypto::sha256(crypto::as_bytes(to_json().dump()))); }

ReleaseDecision ReleasePolicy::evaluate(const nlohmann::json& claims) const {
  ReleaseDecision decision;
  if (!claims.is_object()) {
    for (const auto& clause : clauses_) decision.failures.push_back({clause.name, "claims", "the token claims are not an object"});
    return decision;
  }
  const bool simulated = is_simulated(claims);
  for (const auto& clause : clauses_) {
    if (simulated && !clause.allow_simulated) {
      decision.failures.push_back({clause.name, std::string(kAllowSimulated), "simulated TEE (tee \"sim\")"});
      continue;
    }
    std::optional<ClauseFailure> failure;
    for (const auto& rule : clause.all_of) {
      if (auto why = check_rule(rule, claims)) {
        failure = ClauseFailure{clause.name, rule.describe(), std::move(*why)};
        break;
      }
    }
    if (!failure) {
      decision.allowed = true;
      decision.clause = clause.name;
      decision.failures.clear();
      return decision;
    }
    decision.failures.push_back(std::move(*failure));
  }
  return decision;
}

}  // namespace cloister::keys

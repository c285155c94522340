#include "cloister/attestation/policy.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <limits>
#include <optional>

#include "cloister/crypto/hash.h"
#include "safe_text.h"

namespace cloister::attestation {
namespace {

namespace member {
constexpr std::string_view kTeeTypes = "tee_types";
constexpr std::string_view kMeasurements = "measurements";
constexpr std::string_view kSigners = "signers";
constexpr std::string_view kMinSvn = "min_svn";
constexpr std::string_view kAllowDebug = "allow_debug";
constexpr std::string_view kAllowSimulated = "allow_simulated";
constexpr std::string_view kTcbStatuses = "tcb_statuses";
constexpr std::string_view kProductIds = "product_ids";
constexpr std::string_view kRequiredRuntimeData = "required_runtime_data";
constexpr std::array kAll{kTeeTypes,       kMeasurements, kSigners,    kMinSvn,
                          kAllowDebug,     kAllowSimulated, kTcbStatuses, kProductIds,
                          kRequiredRuntimeData};
}  // namespace member

// Longest hex value a policy may list (SHA-512-sized); measurements are 32 or 48 bytes.
constexpr std::size_t kMaxHexSize = 128;
// Bounds the work check() does per token.
constexpr std::size_t kMaxListSize = 1024;

bool is_known_tee(std::string_view tee_type) {
  return tee_type == tee::kSgx || tee_type == tee::kTdx || tee_type == tee::kSnp || tee_type == tee::kSim;
}

template <class T>
std::vector<T> normalised(std::vector<T> values) {
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  return values;
}

bool contains(const std::vector<std::string>& values, std::string_view value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

// A list of strings; each passes `accept` after `transform`.
template <class Accept>
Result<std::vector<std::string>> string_list(const nlohmann::json& document, std::string_view name, bool lower,
                                             Accept accept) {
  const auto& value = document.at(name);
  if (!value.is_array()) return fail(ErrorCode::policy_invalid, std::string(name) + " must be an array");
  if (value.size() > kMaxListSize) return fail(ErrorCode::policy_invalid, std::string(name) + " is too long");
  std::vector<std::string> out;
  for (const auto& item : value) {
    if (!item.is_string()) return fail(ErrorCode::policy_invalid, std::string(name) + " must hold strings");
    std::string text = item.get<std::string>();
    if (lower) {
      std::transform(text.begin(), text.end(), text.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    }
    if (!accept(text)) return fail(ErrorCode::policy_invalid, std::string(name) + " has an invalid entry");
    out.push_back(std::move(text));
  }
  return normalised(std::move(out));
}

// A runtime-data member name a policy may require.
bool is_member_name(std::string_view text) {
  return !text.empty() && text.size() <= 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
         });
}

bool is_hex(std::string_view text) {
  if (text.empty() || text.size() % 2 != 0 || text.size() > kMaxHexSize) return false;
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// A non-negative integer (parsed JSON holds those as unsigned, constructed JSON as signed).
std::optional<std::uint64_t> non_negative(const nlohmann::json& value) {
  if (value.is_number_unsigned()) return value.get<std::uint64_t>();
  if (value.is_number_integer() && value.get<std::int64_t>() >= 0) {
    return static_cast<std::uint64_t>(value.get<std::int64_t>());
  }
  return std::nullopt;
}

const nlohmann::json* member_of(const nlohmann::json& claims, std::string_view name) {
  auto it = claims.find(name);
  return it == claims.end() ? nullptr : &*it;
}

}  // namespace

Result<Policy> Policy::from_json(const nlohmann::json& document) {
  if (!document.is_object()) return fail(ErrorCode::policy_invalid, "a policy is a JSON object");
  for (const auto& [key, value] : document.items()) {
    if (std::find(member::kAll.begin(), member::kAll.end(), key) == member::kAll.end()) {
      return fail(ErrorCode::policy_invalid, "unknown policy member: " + detail::safe_text(key));
    }
  }
  Policy policy;
  if (document.contains(member::kTeeTypes)) {
    auto list = string_list(document, member::kTeeTypes, false, is_known_tee);
    if (!list) return std::unexpected(list.error());
    policy.tee_types = std::move(*list);
  }
  if (document.contains(member::kMeasurements)) {
    auto list = string_list(document, member::kMeasurements, true, is_hex);
    if (!list) return std::unexpected(list.error());
    policy.measurements = std::move(*list);
  }
  if (document.contains(member::kSigners)) {
    auto list = string_list(document, member::kSigners, true, is_hex);
    if (!list) return std::unexpected(list.error());
    policy.signers = std::move(*list);
  }
  if (document.contains(member::kMinSvn)) {
    const auto value = non_negative(document.at(member::kMinSvn));
    if (!value) return fail(ErrorCode::policy_invalid, "min_svn must be a non-negative integer");
    policy.min_svn = *value;
  }
  if (document.contains(member::kAllowDebug)) {
    const auto& value = document.at(member::kAllowDebug);
    if (!value.is_boolean()) return fail(ErrorCode::policy_invalid, "allow_debug must be a boolean");
    policy.allow_debug = value.get<bool>();
  }
  if (document.contains(member::kAllowSimulated)) {
    const auto& value = document.at(member::kAllowSimulated);
    if (!value.is_boolean()) return fail(ErrorCode::policy_invalid, "allow_simulated must be a boolean");
    policy.allow_simulated = value.get<bool>();
  }
  if (document.contains(member::kTcbStatuses)) {
    auto list = string_list(document, member::kTcbStatuses, false,
                            [](const std::string& status) { return tcb_status::is_known(status); });
    if (!list) return std::unexpected(list.error());
    policy.tcb_statuses = std::move(*list);
  }
  if (document.contains(member::kProductIds)) {
    const auto& value = document.at(member::kProductIds);
    if (!value.is_array()) return fail(ErrorCode::policy_invalid, "product_ids must be an array");
    if (value.size() > kMaxListSize) return fail(ErrorCode::policy_invalid, "product_ids is too long");
    std::vector<std::uint32_t> ids;
    for (const auto& item : value) {
      const auto id = non_negative(item);
      if (!id || *id > std::numeric_limits<std::uint32_t>::max()) {
        return fail(ErrorCode::policy_invalid, "product_ids must hold integers in [0, 2^32)");
      }
      ids.push_back(static_cast<std::uint32_t>(*id));
    }
    policy.product_ids = normalised(std::move(ids));
  }
  if (document.contains(member::kRequiredRuntimeData)) {
    auto list = string_list(document, member::kRequiredRuntimeData, false, is_member_name);
    if (!list) return std::unexpected(list.error());
    policy.required_runtime_data = std::move(*list);
  }
  return policy;
}

nlohmann::json Policy::to_json() const {
  nlohmann::json document = nlohmann::json::object();
  document[member::kTeeTypes] = normalised(tee_types);
  document[member::kMeasurements] = normalised(measurements);
  document[member::kSigners] = normalised(signers);
  document[member::kMinSvn] = min_svn;
  document[member::kAllowDebug] = allow_debug;
  document[member::kAllowSimulated] = allow_simulated;
  document[member::kTcbStatuses] = normalised(tcb_statuses);
  // Only when used: policies without them keep their canonical form and hash.
  if (!product_ids.empty()) document[member::kProductIds] = normalised(product_ids);
  if (!required_runtime_data.empty()) document[member::kRequiredRuntimeData] = normalised(required_runtime_data);
  return document;
}

std::string Policy::hash() const {
  // nlohmann::json objects keep members sorted; dump() is compact: a canonical form for this shape.
  return crypto::hex_encode(crypto::sha256(crypto::as_bytes(to_json().dump())));
}

namespace {

// The claims every rule reads first: the TEE type and whether it is simulated.
struct Subject {
  const nlohmann::json& claims;
  std::string tee;
  bool simulated = false;
};

Result<Subject> subject_of(const nlohmann::json& claims) {
  if (!claims.is_object()) return fail(ErrorCode::token_claims_invalid, "claims are not an object");
  const auto* tee_claim = member_of(claims, claim::kTee);
  if (tee_claim == nullptr || !tee_claim->is_string()) {
    return fail(ErrorCode::token_claims_invalid, "tee claim missing or not a string");
  }
  const auto* simulated_claim = member_of(claims, claim::kSimulated);
  if (simulated_claim != nullptr && !simulated_claim->is_boolean()) {
    return fail(ErrorCode::token_claims_invalid, "x-cloister-simulated claim is not a boolean");
  }
  Subject subject{claims, tee_claim->get<std::string>(), false};
  subject.simulated = subject.tee == tee::kSim || (simulated_claim != nullptr && simulated_claim->get<bool>());
  return subject;
}

using Rule = Status (*)(const Policy&, const Subject&);

// 1. Simulation, before anything else: the loudest refusal.
Status check_simulated(const Policy& policy, const Subject& subject) {
  if (subject.simulated && !policy.allow_simulated) {
    return fail(ErrorCode::policy_simulated_not_allowed, "simulated TEE (tee \"" + detail::safe_text(subject.tee) + "\")");
  }
  return {};
}

// 2. TEE type (allow_simulated alone admits sim).
Status check_tee(const Policy& policy, const Subject& subject) {
  if (!(subject.simulated && subject.tee == tee::kSim) && !contains(policy.tee_types, subject.tee)) {
    return fail(ErrorCode::policy_tee_not_allowed, "tee \"" + detail::safe_text(subject.tee) + "\"");
  }
  return {};
}

// 3. Measurement.
Status check_measurement(const Policy& policy, const Subject& subject) {
  if (policy.measurements.empty()) return {};
  const auto* value = member_of(subject.claims, claim::kMeasurement);
  if (value == nullptr || !value->is_string()) {
    return fail(ErrorCode::token_claims_invalid, "measurement claim missing or not a string");
  }
  if (!contains(policy.measurements, value->get_ref<const std::string&>())) {
    return fail(ErrorCode::policy_measurement_not_allowed, "measurement not on the allow-list");
  }
  return {};
}

// 4. Signer.
Status check_signer(const Policy& policy, const Subject& subject) {
  if (policy.signers.empty()) return {};
  const auto* value = member_of(subject.claims, claim::kSigner);
  if (value == nullptr) return fail(ErrorCode::policy_signer_not_allowed, "no signer claim");
  if (!value->is_string()) return fail(ErrorCode::token_claims_invalid, "signer claim is not a string");
  if (!contains(policy.signers, value->get_ref<const std::string&>())) {
    return fail(ErrorCode::policy_signer_not_allowed, "signer not on the allow-list");
  }
  return {};
}

// 5. Product id.
Status check_product_id(const Policy& policy, const Subject& subject) {
  if (policy.product_ids.empty()) return {};
  const auto* value = member_of(subject.claims, claim::kProductId);
  const auto id = value == nullptr ? std::nullopt : non_negative(*value);
  if (!id) return fail(ErrorCode::token_claims_invalid, "product_id claim missing or not a non-negative integer");
  if (std::find(policy.product_ids.begin(), policy.product_ids.end(), *id) == policy.product_ids.end()) {
    return fail(ErrorCode::policy_product_id_not_allowed, "product_id " + std::to_string(*id) + " not on the allow-list");
  }
  return {};
}

// 6. Security version.
Status check_svn(const Policy& policy, const Subject& subject) {
  const auto* svn_claim = member_of(subject.claims, claim::kSvn);
  const auto svn = svn_claim == nullptr ? std::nullopt : non_negative(*svn_claim);
  if (!svn) return fail(ErrorCode::token_claims_invalid, "svn claim missing or not a non-negative integer");
  if (*svn < policy.min_svn) {
    return fail(ErrorCode::policy_svn_too_low, "svn " + std::to_string(*svn) + " < " + std::to_string(policy.min_svn));
  }
  return {};
}

// 7. Debug.
Status check_debug(const Policy& policy, const Subject& subject) {
  const auto* debuggable = member_of(subject.claims, claim::kDebuggable);
  if (debuggable == nullptr || !debuggable->is_boolean()) {
    return fail(ErrorCode::token_claims_invalid, "debuggable claim missing or not a boolean");
  }
  if (debuggable->get<bool>() && !policy.allow_debug) {
    return fail(ErrorCode::policy_debug_not_allowed, "debuggable TEE");
  }
  return {};
}

// 8. TCB status (a sim TEE's "Simulated" is admitted by allow_simulated).
Status check_tcb_status(const Policy& policy, const Subject& subject) {
  const auto* status = member_of(subject.claims, claim::kTcbStatus);
  if (status == nullptr || !status->is_string()) {
    return fail(ErrorCode::token_claims_invalid, "tcb_status claim missing or not a string");
  }
  const auto& status_text = status->get_ref<const std::string&>();
  const bool simulated_status = subject.simulated && policy.allow_simulated && status_text == tcb_status::kSimulated;
  if (!simulated_status && !contains(policy.tcb_statuses, status_text)) {
    return fail(ErrorCode::policy_tcb_status_not_allowed, "tcb_status \"" + detail::safe_text(status_text, 48) + "\"");
  }
  return {};
}

// 9. Required runtime-data members.
Status check_runtime_data(const Policy& policy, const Subject& subject) {
  if (policy.required_runtime_data.empty()) return {};
  const auto* runtime = member_of(subject.claims, claim::kRuntime);
  if (runtime == nullptr || !runtime->is_object()) {
    return fail(ErrorCode::token_claims_invalid, "runtime claim missing or not an object");
  }
  for (const auto& name : policy.required_runtime_data) {
    const auto* value = member_of(*runtime, name);
    if (value == nullptr || value->is_null()) {
      return fail(ErrorCode::policy_runtime_data_missing, "runtime data lacks \"" + name + "\"");
    }
  }
  return {};
}

struct NamedRule {
  std::string_view name;
  Rule rule;
};

constexpr std::array kRules{
    NamedRule{policy_rule::kAllowSimulated, check_simulated},
    NamedRule{policy_rule::kTeeTypes, check_tee},
    NamedRule{policy_rule::kMeasurements, check_measurement},
    NamedRule{policy_rule::kSigners, check_signer},
    NamedRule{policy_rule::kProductIds, check_product_id},
    NamedRule{policy_rule::kMinSvn, check_svn},
    NamedRule{policy_rule::kAllowDebug, check_debug},
    NamedRule{policy_rule::kTcbStatuses, check_tcb_status},
    NamedRule{policy_rule::kRequiredRuntimeData, check_runtime_data},
};

}  // namespace

std::optional<RuleOutcome> Policy::first_failure(const nlohmann::json& claims) const {
  auto subject = subject_of(claims);
  if (!subject) return RuleOutcome{std::string(policy_rule::kClaims), subject.error()};
  for (const auto& [name, rule] : kRules) {
    if (auto status = rule(*this, *subject); !status) return RuleOutcome{std::string(name), status.error()};
  }
  return std::nullopt;
}

Status Policy::check(const nlohmann::json& claims) const {
  if (auto failure = first_failure(claims)) return std::unexpected(std::move(*failure->failure));
  return {};
}

std::vector<RuleOutcome> Policy::evaluate(const nlohmann::json& claims) const {
  std::vector<RuleOutcome> outcomes;
  auto subject = subject_of(claims);
  if (!subject) {
    outcomes.push_back(RuleOutcome{std::string(policy_rule::kClaims), subject.error()});
    return outcomes;
  }
  for (const auto& [name, rule] : kRules) {
    auto status = rule(*this, *subject);
    outcomes.push_back(RuleOutcome{std::string(name), status ? std::nullopt : std::optional<Error>(status.error())});
  }
  return outcomes;
}

}  // namespace cloister::attestation

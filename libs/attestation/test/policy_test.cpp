#include "cloister/attestation/policy.h"

#include <gtest/gtest.h>

#include <set>

#include "cloister/crypto/hash.h"

namespace cloister::attestation {
namespace {

const std::string kMeasurement(96, 'a');
const std::string kSigner(64, 'b');

// Claims of an up-to-date, non-debug SGX enclave.
nlohmann::json sgx_claims() {
  return {{"tee", "sgx"},       {"measurement", kMeasurement}, {"signer", kSigner},
          {"product_id", 1},    {"svn", 5},                    {"debuggable", false},
          {"tcb_status", "UpToDate"}, {"advisory_ids", nlohmann::json::array()}, {"x-cloister-simulated", false}};
}

nlohmann::json sim_claims() {
  auto claims = sgx_claims();
  claims["tee"] = "sim";
  claims.erase("signer");
  claims["tcb_status"] = "Simulated";
  claims["x-cloister-simulated"] = true;
  return claims;
}

ErrorCode code_of(const Status& status) { return status ? ErrorCode::internal : status.error().code; }

TEST(Policy, DefaultAcceptsUpToDateHardwareAndRefusesSim) {
  Policy policy;
  EXPECT_TRUE(policy.check(sgx_claims()));
  auto tdx = sgx_claims();
  tdx["tee"] = "tdx";
  EXPECT_TRUE(policy.check(tdx));
  EXPECT_EQ(code_of(policy.check(sim_claims())), ErrorCode::policy_simulated_not_allowed);
}

TEST(Policy, EachCheckHasItsOwnCode) {
  Policy policy;
  policy.measurements = {kMeasurement};
  policy.signers = {kSigner};
  policy.min_svn = 5;
  ASSERT_TRUE(policy.check(sgx_claims()));

  auto claims = sgx_claims();
  claims["tee"] = "snp";
  Policy sgx_only = policy;
  sgx_only.tee_types = {"sgx"};
  EXPECT_EQ(code_of(sgx_only.check(claims)), ErrorCode::policy_tee_not_allowed);

  claims = sgx_claims();
  claims["measurement"] = std::string(96, 'c');
  EXPECT_EQ(code_of(policy.check(claims)), ErrorCode::policy_measurement_not_allowed);

  claims = sgx_claims();
  claims["signer"] = std::string(64, 'd');
  EXPECT_EQ(code_of(policy.check(claims)), ErrorCode::policy_signer_not_allowed);
  claims.erase("signer");
  EXPECT_EQ(code_of(policy.check(claims)), ErrorCode::policy_signer_not_allowed);

  claims = sgx_claims();
  claims["svn"] = 4;
  EXPECT_EQ(code_of(policy.check(claims)), ErrorCode::policy_svn_too_low);

  claims = sgx_claims();
  claims["debuggable"] = true;
  EXPECT_EQ(code_of(policy.check(claims)), ErrorCode::policy_debug_not_allowed);
  Policy debug_ok = policy;
  debug_ok.allow_debug = true;
  EXPECT_TRUE(debug_ok.check(claims));

  claims = sgx_claims();
  claims["tcb_status"] = "OutOfDate";
  EXPECT_EQ(code_of(policy.check(claims)), ErrorCode::policy_tcb_status_not_allowed);
  Policy out_of_date_ok = policy;
  out_of_date_ok.tcb_statuses = {"UpToDate", "OutOfDate"};
  EXPECT_TRUE(out_of_date_ok.check(claims));
}

TEST(Policy, SimulationIsCheckedFirst) {
  Policy policy;
  policy.measurements = {kMeasurement};
  auto claims = sim_claims();
  claims["measurement"] = std::string(96, 'c');
  claims["debuggable"] = true;
  EXPECT_EQ(code_of(policy.check(claims)), ErrorCode::policy_simulated_not_allowed);
  // A token flagged simulated is simulated whatever its tee says.
  auto flagged = sgx_claims();
  flagged["x-cloister-simulated"] = true;
  EXPECT_EQ(code_of(Policy{}.check(flagged)), ErrorCode::policy_simulated_not_allowed);
}

TEST(Policy, AllowSimulatedAdmitsSimWithItsTcbStatus) {
  Policy policy;
  policy.allow_simulated = true;
  EXPECT_TRUE(policy.check(sim_claims()));
  // The other checks still apply to sim.
  auto debug = sim_claims();
  debug["debuggable"] = true;
  EXPECT_EQ(code_of(policy.check(debug)), ErrorCode::policy_debug_not_allowed);
  policy.measurements = {kMeasurement};
  auto other = sim_claims();
  other["measurement"] = std::string(96, 'c');
  EXPECT_EQ(code_of(policy.check(other)), ErrorCode::policy_measurement_not_allowed);
  // "Simulated" stays refused for a token that is not from the sim TEE.
  auto odd = sgx_claims();
  odd["tcb_status"] = "Simulated";
  EXPECT_EQ(code_of(policy.check(odd)), ErrorCode::policy_tcb_status_not_allowed);
}

TEST(Policy, MissingOrMistypedClaimsFailClosed) {
  Policy policy;
  for (const char* name : {"tee", "svn", "debuggable", "tcb_status"}) {
    auto claims = sgx_claims();
    claims.erase(name);
    EXPECT_EQ(code_of(policy.check(claims)), ErrorCode::token_claims_invalid) << name;
  }
  auto claims = sgx_claims();
  claims["debuggable"] = "false";
  EXPECT_EQ(code_of(policy.check(claims)), ErrorCode::token_claims_invalid);
  claims = sgx_claims();
  claims["svn"] = -1;
  EXPECT_EQ(code_of(policy.check(claims)), ErrorCode::token_claims_invalid);
  claims = sgx_claims();
  claims["x-cloister-simulated"] = "no";
  EXPECT_EQ(code_of(policy.check(claims)), ErrorCode::token_claims_invalid);
  Policy with_measurements;
  with_measurements.measurements = {kMeasurement};
  claims = sgx_claims();
  claims.erase("measurement");
  EXPECT_EQ(code_of(with_measurements.check(claims)), ErrorCode::token_claims_invalid);
  EXPECT_EQ(code_of(policy.check(nlohmann::json::array())), ErrorCode::token_claims_invalid);
}

TEST(Policy, FromJsonReadsEveryMemberAndNormalises) {
  auto policy = Policy::from_json({{"tee_types", {"tdx", "sgx", "sgx"}},
                                   {"measurements", {std::string(96, 'A')}},
                                   {"signers", {kSigner}},
                                   {"min_svn", 9},
                                   {"allow_debug", true},
                                   {"allow_simulated", true},
                                   {"tcb_statuses", {"UpToDate", "SWHardeningNeeded"}}});
  ASSERT_TRUE(policy) << policy.error().to_string();
  EXPECT_EQ(policy->tee_types, (std::vector<std::string>{"sgx", "tdx"}));
  EXPECT_EQ(policy->measurements, (std::vector<std::string>{std::string(96, 'a')}));
  EXPECT_EQ(policy->signers, (std::vector<std::string>{kSigner}));
  EXPECT_EQ(policy->min_svn, 9u);
  EXPECT_TRUE(policy->allow_debug);
  EXPECT_TRUE(policy->allow_simulated);
  EXPECT_EQ(policy->tcb_statuses, (std::vector<std::string>{"SWHardeningNeeded", "UpToDate"}));

  auto empty = Policy::from_json(nlohmann::json::object());
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->hash(), Policy{}.hash());

  auto round_trip = Policy::from_json(policy->to_json());
  ASSERT_TRUE(round_trip);
  EXPECT_EQ(round_trip->to_json(), policy->to_json());
}

TEST(Policy, FromJsonRefusesInvalidDocuments) {
  const std::vector<nlohmann::json> invalid = {
      nlohmann::json::array(),
      "policy",
      {{"unknown", 1}},
      {{"tee_types", "sgx"}},
      {{"tee_types", {"sgx", "tpm"}}},
      {{"tee_types", {1}}},
      {{"measurements", {"xyz"}}},
      {{"measurements", {"abc"}}},  // odd length
      {{"measurements", {""}}},
      {{"signers", {std::string(130, 'a')}}},
      {{"min_svn", -1}},
      {{"min_svn", 1.5}},
      {{"min_svn", "1"}},
      {{"allow_debug", 1}},
      {{"allow_simulated", "true"}},
      {{"tcb_statuses", {"Fine"}}},
      {{"tcb_statuses", nullptr}},
  };
  for (const auto& document : invalid) {
    auto policy = Policy::from_json(document);
    ASSERT_FALSE(policy) << document.dump();
    EXPECT_EQ(policy.error().code, ErrorCode::policy_invalid) << document.dump();
  }
}

TEST(Policy, HashIsStableAndChangesWithThePolicy) {
  Policy policy;
  EXPECT_EQ(policy.to_json().dump(),
            R"({"allow_debug":false,"allow_simulated":false,"measurements":[],"min_svn":0,"signers":[],)"
            R"("tcb_statuses":["UpToDate"],"tee_types":["sgx","snp","tdx"]})");
  EXPECT_EQ(policy.hash(), crypto::hex_encode(crypto::sha256(crypto::as_bytes(policy.to_json().dump()))));
  EXPECT_EQ(policy.hash().size(), 64u);
  EXPECT_EQ(policy.hash(), Policy{}.hash());

  Policy reordered;
  reordered.tee_types = {"tdx", "snp", "sgx"};
  EXPECT_EQ(reordered.hash(), policy.hash());

  std::vector<Policy> changed(8);
  changed[0].tee_types = {"sgx"};
  changed[1].measurements = {kMeasurement};
  changed[2].signers = {kSigner};
  changed[3].min_svn = 1;
  changed[4].allow_debug = true;
  changed[5].allow_simulated = true;
  changed[6].tcb_statuses = {"UpToDate", "OutOfDate"};
  changed[7].measurements = {std::string(96, 'c')};
  std::set<std::string> hashes{policy.hash()};
  for (const auto& other : changed) EXPECT_TRUE(hashes.insert(other.hash()).second) << other.to_json().dump();
}

TEST(Policy, ProductIdsAndRequiredRuntimeData) {
  Policy policy;
  policy.product_ids = {1, 7};
  EXPECT_TRUE(policy.check(sgx_claims()));
  auto claims = sgx_claims();
  claims["product_id"] = 2;
  EXPECT_EQ(code_of(policy.check(claims)), ErrorCode::policy_product_id_not_allowed);
  claims.erase("product_id");
  EXPECT_EQ(code_of(policy.check(claims)), ErrorCode::token_claims_invalid);

  Policy fresh;
  fresh.required_runtime_data = {"nonce"};
  claims = sgx_claims();
  EXPECT_EQ(code_of(fresh.check(claims)), ErrorCode::token_claims_invalid);  // no runtime claim at all
  claims["runtime"] = {{"keys", nlohmann::json::array()}};
  EXPECT_EQ(code_of(fresh.check(claims)), ErrorCode::policy_runtime_data_missing);
  claims["runtime"]["nonce"] = "n-1";
  EXPECT_TRUE(fresh.check(claims));
}

TEST(Policy, FirstFailureNamesTheRule) {
  Policy policy;
  policy.measurements = {kMeasurement};
  EXPECT_FALSE(policy.first_failure(sgx_claims()).has_value());
  auto claims = sgx_claims();
  claims["measurement"] = std::string(96, 'c');
  auto failure = policy.first_failure(claims);
  ASSERT_TRUE(failure.has_value());
  EXPECT_EQ(failure->rule, "measurements");
  EXPECT_EQ(failure->failure->code, ErrorCode::policy_measurement_not_allowed);
  claims = sgx_claims();
  claims["debuggable"] = true;
  EXPECT_EQ(policy.first_failure(claims)->rule, "allow_debug");
  claims = sgx_claims();
  claims["tcb_status"] = "OutOfDate";
  EXPECT_EQ(policy.first_failure(claims)->rule, "tcb_statuses");
  EXPECT_EQ(policy.first_failure(sim_claims())->rule, "allow_simulated");
  EXPECT_EQ(policy.first_failure(nlohmann::json::array())->rule, "claims");
}

TEST(Policy, EvaluateJudgesEveryRuleOnItsOwn) {
  Policy policy;
  policy.measurements = {kMeasurement};
  policy.min_svn = 9;
  auto claims = sgx_claims();
  claims["measurement"] = std::string(96, 'c');
  claims["debuggable"] = true;
  auto outcomes = policy.evaluate(claims);
  std::vector<std::string> rules;
  std::vector<std::string> failed;
  for (const auto& outcome : outcomes) {
    rules.push_back(outcome.rule);
    if (!outcome.passed()) failed.push_back(outcome.rule);
  }
  EXPECT_EQ(rules, (std::vector<std::string>{"allow_simulated", "tee_types", "measurements", "signers", "product_ids",
                                             "min_svn", "allow_debug", "tcb_statuses", "required_runtime_data"}));
  EXPECT_EQ(failed, (std::vector<std::string>{"measurements", "min_svn", "allow_debug"}));
  // check() reports the first of them.
  EXPECT_EQ(code_of(policy.check(claims)), ErrorCode::policy_measurement_not_allowed);
  auto broken = policy.evaluate("not claims");
  ASSERT_EQ(broken.size(), 1u);
  EXPECT_EQ(broken[0].rule, "claims");
  EXPECT_EQ(broken[0].failure->code, ErrorCode::token_claims_invalid);
}

TEST(Policy, NewMembersParseAndOnlyChangeTheHashWhenUsed) {
  auto policy = Policy::from_json({{"product_ids", {7, 1, 7}}, {"required_runtime_data", {"nonce"}}});
  ASSERT_TRUE(policy) << policy.error().to_string();
  EXPECT_EQ(policy->product_ids, (std::vector<std::uint32_t>{1, 7}));
  EXPECT_EQ(policy->required_runtime_data, (std::vector<std::string>{"nonce"}));
  EXPECT_NE(policy->hash(), Policy{}.hash());
  auto round_trip = Policy::from_json(policy->to_json());
  ASSERT_TRUE(round_trip);
  EXPECT_EQ(round_trip->hash(), policy->hash());
  // Empty lists are the defaults: the canonical form (and hash) of the default policy is unchanged.
  auto empty = Policy::from_json({{"product_ids", nlohmann::json::array()}, {"required_runtime_data", nlohmann::json::array()}});
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->hash(), Policy{}.hash());
  for (const nlohmann::json& invalid : std::vector<nlohmann::json>{
           {{"product_ids", {-1}}}, {{"product_ids", {4294967296LL}}}, {{"product_ids", "1"}},
           {{"required_runtime_data", {"Nonce"}}}, {{"required_runtime_data", {""}}},
           {{"required_runtime_data", {std::string(65, 'a')}}}}) {
    auto refused = Policy::from_json(invalid);
    ASSERT_FALSE(refused) << invalid.dump();
    EXPECT_EQ(refused.error().code, ErrorCode::policy_invalid) << invalid.dump();
  }
}

}  // namespace
}  // namespace cloister::attestation

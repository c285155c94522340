// ReleasePolicy: every operator, any_of / all_of, the sim refusal, the failing rule of each clause,
// dotted paths, the canonical form and every kind of invalid document.
#include "release_policy.h"

#include <gtest/gtest.h>

#include <limits>

namespace cloister::keys {
namespace {

const std::string kMeasurement(64, 'a');

nlohmann::json sgx_claims() {
  return {{"iss", "https://attest.test"},
          {"jti", "0123456789abcdef0123456789abcdef"},
          {"exp", 1'700'000'300},
          {"tee", "sgx"},
          {"format", "sgx"},
          {"x-cloister-simulated", false},
          {"measurement", kMeasurement},
          {"signer", std::string(64, 'b')},
          {"product_id", 1},
          {"svn", 3},
          {"debuggable", false},
          {"tcb_status", "UpToDate"},
          {"advisory_ids", nlohmann::json::array()},
          {"runtime", {{"keys", nlohmann::json::array()}, {"nonce", "n-1"}}},
          {"x-cloister-format-claims", {{"version", 1}, {"platform_key_id", "abcd"}}}};
}

nlohmann::json sim_claims() {
  auto claims = sgx_claims();
  claims["tee"] = "sim";
  claims["format"] = "sim";
  claims["x-cloister-simulated"] = true;
  claims["tcb_status"] = "Simulated";
  claims.erase("signer");
  return claims;
}

ReleasePolicy parse(const nlohmann::json& document) {
  auto policy = ReleasePolicy::from_json(document);
  EXPECT_TRUE(policy) << document.dump() << ": " << policy.error().to_string();
  return policy.value_or(ReleasePolicy::default_policy());
}

nlohmann::json one_rule(nlohmann::json rule) { return {{"all_of", nlohmann::json::array({std::move(rule)})}}; }

ReleaseDecision judge(const nlohmann::json& rule, const nlohmann::json& claims = sgx_claims()) {
  return parse(one_rule(rule)).evaluate(claims);
}

TEST(ReleasePolicy, TheExampleOfTheIssueAdmitsTheEnclaveItPins) {
  auto policy = parse({{"any_of",
                        {{{"name", "prod-sgx"},
                          {"all_of",
                           {{{"claim", "tee"}, {"in", {"sgx", "tdx", "snp"}}},
                            {{"claim", "measurement"}, {"equals", kMeasurement}},
                            {{"claim", "svn"}, {"min", 2}},
                            {{"claim", "debuggable"}, {"equals", false}},
                            {{"claim", "tcb_status"}, {"in", {"UpToDate"}}}}}}}}});
  auto decision = policy.evaluate(sgx_claims());
  EXPECT_TRUE(decision.allowed);
  EXPECT_EQ(decision.clause, "prod-sgx");
  EXPECT_TRUE(decision.failures.empty());
  EXPECT_EQ(decision.failed_rule(), "");

  auto old = sgx_claims();
  old["svn"] = 1;
  decision = policy.evaluate(old);
  EXPECT_FALSE(decision.allowed);
  ASSERT_EQ(decision.failures.size(), 1u);
  EXPECT_EQ(decision.failures[0].clause, "prod-sgx");
  EXPECT_EQ(decision.failures[0].rule, "svn min 2");
  EXPECT_EQ(decision.failures[0].detail, "svn is 1");
  EXPECT_EQ(decision.failed_rule(), "prod-sgx: svn min 2");
}

TEST(ReleasePolicy, EqualsComparesStringsIntegersAndBooleansWithoutMixingThem) {
  EXPECT_TRUE(judge({{"claim", "measurement"}, {"equals", kMeasurement}}).allowed);
  EXPECT_FALSE(judge({{"claim", "measurement"}, {"equals", std::string(64, 'd')}}).allowed);
  EXPECT_TRUE(judge({{"claim", "svn"}, {"equals", 3}}).allowed);
  EXPECT_FALSE(judge({{"claim", "svn"}, {"equals", 4}}).allowed);
  EXPECT_TRUE(judge({{"claim", "debuggable"}, {"equals", false}}).allowed);
  EXPECT_FALSE(judge({{"claim", "debuggable"}, {"equals", true}}).allowed);
  // A claim of another type than the rule's never matches: true is not 1, 3 is not "3".
  auto claims = sgx_claims();
  claims["debuggable"] = 0;
  EXPECT_FALSE(judge({{"claim", "debuggable"}, {"equals", false}}, claims).allowed);
  claims["svn"] = "3";
  EXPECT_FALSE(judge({{"claim", "svn"}, {"equals", 3}}, claims).allowed);
  // Upper-case hex in a policy is normalised: it still matches the lower-case claim.
  std::string upper(64, 'A');
  EXPECT_TRUE(judge({{"claim", "measurement"}, {"equals", upper}}).allowed);
}

TEST(ReleasePolicy, InAndMin) {
  EXPECT_TRUE(judge({{"claim", "tcb_status"}, {"in", {"OutOfDate", "UpToDate"}}}).allowed);
  auto refused = judge({{"claim", "tcb_status"}, {"in", {"OutOfDate", "SWHardeningNeeded"}}});
  ASSERT_FALSE(refused.allowed);
  EXPECT_EQ(refused.failures[0].rule, "tcb_status in [\"OutOfDate\",\"SWHardeningNeeded\"]");
  EXPECT_EQ(refused.failures[0].detail, "tcb_status is \"UpToDate\"");
  EXPECT_TRUE(judge({{"claim", "product_id"}, {"in", {1, 2}}}).allowed);
  EXPECT_FALSE(judge({{"claim", "product_id"}, {"in", {2, 3}}}).allowed);

  EXPECT_TRUE(judge({{"claim", "svn"}, {"min", 3}}).allowed);
  EXPECT_TRUE(judge({{"claim", "svn"}, {"min", -1}}).allowed);
  EXPECT_FALSE(judge({{"claim", "svn"}, {"min", 4}}).allowed);
  auto claims = sgx_claims();
  claims["svn"] = std::numeric_limits<std::uint64_t>::max();
  EXPECT_TRUE(judge({{"claim", "svn"}, {"min", std::numeric_limits<std::int64_t>::max()}}, claims).allowed);
  claims["svn"] = "9";
  auto mistyped = judge({{"claim", "svn"}, {"min", 1}}, claims);
  ASSERT_FALSE(mistyped.allowed);
  EXPECT_EQ(mistyped.failures[0].detail, "svn is not an integer");
}

TEST(ReleasePolicy, MissingClaimsFailTheRuleAndSayWhich) {
  auto claims = sgx_claims();
  claims.erase("signer");
  auto decision = judge({{"claim", "signer"}, {"equals", std::string(64, 'b')}}, claims);
  ASSERT_FALSE(decision.allowed);
  EXPECT_EQ(decision.failures[0].detail, "claim signer is missing");
  EXPECT_FALSE(parse(one_rule({{"claim", "svn"}, {"min", 0}})).evaluate("not an object").allowed);
}

TEST(ReleasePolicy, DottedPathsReachIntoRuntimeAndFormatClaims) {
  EXPECT_TRUE(judge({{"claim", "x-cloister-format-claims.platform_key_id"}, {"equals", "abcd"}}).allowed);
  EXPECT_FALSE(judge({{"claim", "x-cloister-format-claims.platform_key_id"}, {"equals", "ffff"}}).allowed);
  EXPECT_TRUE(judge({{"claim", "x-cloister-format-claims.version"}, {"min", 1}}).allowed);
  EXPECT_TRUE(judge({{"claim", "runtime.nonce"}, {"equals", "n-1"}}).allowed);
  auto missing = judge({{"claim", "runtime.other.deeper"}, {"equals", "x"}});
  ASSERT_FALSE(missing.allowed);
  EXPECT_EQ(missing.failures[0].detail, "claim runtime.other.deeper is missing");
}

TEST(ReleasePolicy, AnyOfPassesOnTheFirstPassingClauseAndOtherwiseReportsEachClause) {
  auto policy = parse({{"any_of",
                        {{{"name", "tdx-prod"}, {"all_of", {{{"claim", "tee"}, {"equals", "tdx"}}}}},
                         {{"name", "sgx-new"}, {"all_of", {{{"claim", "tee"}, {"equals", "sgx"}}, {{"claim", "svn"}, {"min", 5}}}}},
                         {{"all_of", {{{"claim", "debuggable"}, {"equals", true}}}}}}}});
  auto decision = policy.evaluate(sgx_claims());
  ASSERT_FALSE(decision.allowed);
  ASSERT_EQ(decision.failures.size(), 3u);
  EXPECT_EQ(decision.failures[0].rule, "tee equals \"tdx\"");
  EXPECT_EQ(decision.failures[0].detail, "tee is \"sgx\"");
  EXPECT_EQ(decision.failures[1].clause, "sgx-new");
  EXPECT_EQ(decision.failures[1].rule, "svn min 5");  // the first rule passed; the second is named
  EXPECT_EQ(decision.failures[2].clause, "clause-3");  // unnamed clauses are numbered
  EXPECT_EQ(decision.failed_rule(),
            "tdx-prod: tee equals \"tdx\"; sgx-new: svn min 5; clause-3: debuggable equals true");

  auto newer = sgx_claims();
  newer["svn"] = 5;
  decision = policy.evaluate(newer);
  EXPECT_TRUE(decision.allowed);
  EXPECT_EQ(decision.clause, "sgx-new");
}

TEST(ReleasePolicy, TheSimTeeIsRefusedUnlessTheClauseAllowsSimulation) {
  auto permissive = one_rule({{"claim", "svn"}, {"min", 0}});
  auto decision = parse(permissive).evaluate(sim_claims());
  ASSERT_FALSE(decision.allowed);
  EXPECT_EQ(decision.failures[0].rule, "allow_simulated");
  EXPECT_EQ(decision.failed_rule(), "all_of: allow_simulated");

  // x-cloister-simulated alone is enough to be treated as sim.
  auto disguised = sgx_claims();
  disguised["x-cloister-simulated"] = true;
  EXPECT_FALSE(parse(permissive).evaluate(disguised).allowed);

  permissive["allow_simulated"] = true;
  EXPECT_TRUE(parse(permissive).evaluate(sim_claims()).allowed);
  // Allowing simulation does not skip the rules.
  auto strict = one_rule({{"claim", "svn"}, {"min", 5}});
  strict["allow_simulated"] = true;
  EXPECT_FALSE(parse(strict).evaluate(sim_claims()).allowed);

  // Only the clause that allows simulation admits it.
  auto policy = parse({{"any_of",
                        {{{"name", "prod"}, {"all_of", {{{"claim", "svn"}, {"min", 0}}}}},
                         {{"name", "dev"}, {"allow_simulated", true}, {"all_of", {{{"claim", "tee"}, {"equals", "sim"}}}}}}}});
  decision = policy.evaluate(sim_claims());
  EXPECT_TRUE(decision.allowed);
  EXPECT_EQ(decision.clause, "dev");
  EXPECT_TRUE(policy.evaluate(sgx_claims()).allowed);
}

TEST(ReleasePolicy, TheDefaultPolicyAdmitsOnlyUpToDateNonDebugRealTees) {
  const auto policy = ReleasePolicy::default_policy();
  EXPECT_TRUE(policy.evaluate(sgx_claims()).allowed);
  EXPECT_FALSE(policy.evaluate(sim_claims()).allowed);
  auto debug = sgx_claims();
  debug["debuggable"] = true;
  EXPECT_FALSE(policy.evaluate(debug).allowed);
  auto stale = sgx_claims();
  stale["tcb_status"] = "OutOfDate";
  EXPECT_FALSE(policy.evaluate(stale).allowed);
  // Its JSON form is a valid policy with the same hash.
  EXPECT_EQ(parse(policy.to_json()).hash(), policy.hash());
}

TEST(ReleasePolicy, CanonicalFormAndHash) {
  auto a = parse(one_rule({{"claim", "measurement"}, {"equals", std::string(64, 'A')}}));
  auto b = parse({{"name", "all_of"},
                  {"allow_simulated", false},
                  {"all_of", {{{"claim", "measurement"}, {"equals", std::string(64, 'a')}}}}});
  EXPECT_EQ(a.to_json(), b.to_json());
  EXPECT_EQ(a.hash(), b.hash());
  EXPECT_EQ(a.hash().size(), 64u);
  auto c = parse(one_rule({{"claim", "measurement"}, {"equals", std::string(64, 'e')}}));
  EXPECT_NE(a.hash(), c.hash());
  // A round trip keeps the form (any_of stays any_of).
  auto any = parse({{"any_of", {{{"all_of", {{{"claim", "svn"}, {"min", 1}}}}}}}});
  EXPECT_TRUE(any.to_json().contains("any_of"));
  EXPECT_EQ(parse(any.to_json()).hash(), any.hash());
  EXPECT_NE(any.hash(), parse(one_rule({{"claim", "svn"}, {"min", 1}})).hash());
}

TEST(ReleasePolicy, InvalidDocumentsAreRefusedWithPolicyInvalid) {
  const nlohmann::json rule = {{"claim", "svn"}, {"min", 1}};
  const std::vector<nlohmann::json> invalid = {
      "a string",
      nlohmann::json::object(),
      nlohmann::json::array({rule}),
      {{"all_of", nlohmann::json::array()}},
      {{"any_of", nlohmann::json::array()}},
      {{"any_of", {{{"all_of", {rule}}}}}, {"name", "x"}},
      {{"all_of", {rule}}, {"unknown", 1}},
      {{"all_of", {rule}}, {"allow_simulated", "yes"}},
      {{"all_of", {rule}}, {"name", "has space"}},
      {{"any_of", {{{"name", "x"}, {"all_of", {rule}}}, {{"name", "x"}, {"all_of", {rule}}}}}},
      {{"any_of", {{{"any_of", {{{"all_of", {rule}}}}}}}}},
      one_rule({{"claim", "svn"}}),
      one_rule({{"claim", "svn"}, {"max", 3}}),
      one_rule({{"claim", "svn"}, {"min", 1}, {"equals", 1}}),
      one_rule({{"claim", "svn"}, {"min", "1"}}),
      one_rule({{"claim", "svn"}, {"min", 1.5}}),
      one_rule({{"claim", "svn"}, {"equals", "3"}}),
      one_rule({{"claim", "tee"}, {"min", 1}}),
      one_rule({{"claim", "tee"}, {"equals", "sev"}}),
      one_rule({{"claim", "tee"}, {"in", nlohmann::json::array()}}),
      one_rule({{"claim", "tee"}, {"in", "sgx"}}),
      one_rule({{"claim", "tcb_status"}, {"in", {"Fine"}}}),
      one_rule({{"claim", "debuggable"}, {"equals", "false"}}),
      one_rule({{"claim", "measurement"}, {"equals", "xyz"}}),
      one_rule({{"claim", "measurement"}, {"equals", "abc"}}),
      one_rule({{"claim", "measurment"}, {"equals", "ab"}}),
      one_rule({{"claim", "runtime"}, {"equals", "x"}}),
      one_rule({{"claim", "advisory_ids"}, {"equals", "INTEL-SA-00615"}}),
      one_rule({{"claim", "svn.minor"}, {"min", 1}}),
      one_rule({{"claim", "runtime..nonce"}, {"equals", "x"}}),
      one_rule({{"claim", "runtime.a.b.c.d"}, {"equals", "x"}}),
      one_rule({{"claim", ""}, {"equals", "x"}}),
      one_rule({{"claim", 7}, {"equals", "x"}}),
      one_rule({{"claim", "runtime.nonce"}, {"equals", nullptr}}),
      one_rule({{"claim", "runtime.nonce"}, {"equals", {{"a", 1}}}}),
  };
  for (const auto& document : invalid) {
    auto policy = ReleasePolicy::from_json(document);
    ASSERT_FALSE(policy) << document.dump();
    EXPECT_EQ(policy.error().code, ErrorCode::policy_invalid) << document.dump();
    EXPECT_FALSE(policy.error().detail.empty()) << document.dump();
  }
}

}  // namespace
}  // namespace cloister::keys

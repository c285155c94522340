// The hospital configuration shared by the portal and `cloister submit`/`demo` (hospital_config.h).
#include "hospital_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace cloister::platform {
namespace {

const std::string kMeasurement(96, 'a');

nlohmann::json valid() {
  return {{"hospital", "St. Example"},
          {"tenant", "st-example"},
          {"platform_url", "https://platform.example/"},
          {"attestation_url", "https://attest.example//"},
          {"expected",
           {{"tee_types", {"sgx", "tdx"}},
            {"measurements", {std::string(96, 'A')}},
            {"policy_hashes", {std::string(64, 'B')}},
            {"tcb_statuses", {"UpToDate", "SWHardeningNeeded"}},
            {"min_token_validity_s", 60}}}};
}

TEST(HospitalConfig, ParsesThePolicyAndTheHospitalsOwnExpectations) {
  auto config = HospitalConfig::from_json(valid());
  ASSERT_TRUE(config) << config.error().to_string();
  EXPECT_EQ(config->tenant, "st-example");
  EXPECT_EQ(config->platform_url, "https://platform.example");
  EXPECT_EQ(config->attestation_url, "https://attest.example");
  EXPECT_EQ(config->identifier_system, "urn:cloister:mrn");
  EXPECT_EQ(config->policy.measurements, std::vector<std::string>{kMeasurement});
  EXPECT_EQ(config->policy_hashes, std::vector<std::string>{std::string(64, 'b')});
  EXPECT_FALSE(config->policy.allow_simulated);
  EXPECT_FALSE(config->policy.allow_debug);
  EXPECT_EQ(config->min_token_validity_s, 60);
  // Round trip through to_json gives the same configuration.
  auto again = HospitalConfig::from_json(config->to_json());
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(again->to_json(), config->to_json());
}

TEST(HospitalConfig, RefusesWhatWouldTrustTooMuchOrIsMalformed) {
  struct Case {
    const char* what;
    std::function<void(nlohmann::json&)> change;
    ErrorCode code;
  };
  const std::vector<Case> cases = {
      {"no measurement pinned", [](auto& j) { j["expected"]["measurements"] = nlohmann::json::array(); }, ErrorCode::config_invalid},
      {"no expected", [](auto& j) { j.erase("expected"); }, ErrorCode::config_invalid},
      {"no tenant", [](auto& j) { j.erase("tenant"); }, ErrorCode::config_invalid},
      {"empty platform", [](auto& j) { j["platform_url"] = ""; }, ErrorCode::config_invalid},
      {"policy hash not hex", [](auto& j) { j["expected"]["policy_hashes"] = {"zz"}; }, ErrorCode::config_invalid},
      {"negative validity", [](auto& j) { j["expected"]["min_token_validity_s"] = -1; }, ErrorCode::config_invalid},
      {"unknown member", [](auto& j) { j["expected"]["trust_everything"] = true; }, ErrorCode::policy_invalid},
      {"unknown TEE", [](auto& j) { j["expected"]["tee_types"] = {"sgx", "magic"}; }, ErrorCode::policy_invalid},
      {"bad measurement", [](auto& j) { j["expected"]["measurements"] = {"xyz"}; }, ErrorCode::policy_invalid},
  };
  for (const auto& test : cases) {
    auto document = valid();
    test.change(document);
    auto config = HospitalConfig::from_json(document);
    ASSERT_FALSE(config) << test.what;
    EXPECT_EQ(config.error().code, test.code) << test.what << ": " << config.error().to_string();
  }
  EXPECT_FALSE(HospitalConfig::from_json(nlohmann::json::array()));
}

TEST(HospitalConfig, LoadsAFileAndNamesItInErrors) {
  const auto file = std::filesystem::temp_directory_path() / ("hospital-config-test-" + std::to_string(::getpid()) + ".json");
  {
    std::ofstream out(file);
    out << "{not json";
  }
  auto broken = HospitalConfig::load(file);
  ASSERT_FALSE(broken);
  EXPECT_NE(broken.error().detail.find(file.string()), std::string::npos);
  {
    std::ofstream out(file, std::ios::trunc);
    out << valid().dump();
  }
  auto loaded = HospitalConfig::load(file);
  std::filesystem::remove(file);
  ASSERT_TRUE(loaded) << loaded.error().to_string();
  EXPECT_EQ(loaded->hospital, "St. Example");
  EXPECT_FALSE(HospitalConfig::load(file));
}

}  // namespace
}  // namespace cloister::platform

#include "hospital_config.h"

#include "cloister/crypto/hash.h"
#include "cloister/service/tls_identity.h"

namespace cloister::platform {

namespace {

Result<std::string> required_string(const nlohmann::json& document, const char* member) {
  if (!document.contains(member) || !document[member].is_string() || document[member].get<std::string>().empty()) {
    return fail(ErrorCode::config_invalid, std::string("the hospital configuration needs a non-empty string \"") + member + "\"");
  }
  return document[member].get<std::string>();
}

std::string without_trailing_slash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

}  // namespace

Result<HospitalConfig> HospitalConfig::from_json(const nlohmann::json& document) {
  if (!document.is_object()) return fail(ErrorCode::config_invalid, "the hospital configuration must be a JSON object");
  HospitalConfig config;
  auto tenant = required_string(document, "tenant");
  if (!tenant) return std::unexpected(tenant.error());
  auto platform = required_string(document, "platform_url");
  if (!platform) return std::unexpected(platform.error());
  auto attestation = required_string(document, "attestation_url");
  if (!attestation) return std::unexpected(attestation.error());
  config.tenant = *tenant;
  config.platform_url = without_trailing_slash(*platform);
  config.attestation_url = without_trailing_slash(*attestation);
  if (document.contains("hospital")) {
    if (!document["hospital"].is_string()) return fail(ErrorCode::config_invalid, "\"hospital\" must be a string");
    config.hospital = document["hospital"].get<std::string>();
  }
  if (document.contains("identifier_system")) {
    if (!document["identifier_system"].is_string()) return fail(ErrorCode::config_invalid, "\"identifier_system\" must be a string");
    config.identifier_system = document["identifier_system"].get<std::string>();
  }
  if (!document.contains("expected") || !document["expected"].is_object()) {
    return fail(ErrorCode::config_invalid, "the hospital configuration needs an \"expected\" object");
  }
  nlohmann::json policy = document["expected"];
  if (policy.contains("policy_hashes")) {
    const auto& hashes = policy["policy_hashes"];
    if (!hashes.is_array()) return fail(ErrorCode::config_invalid, "\"expected.policy_hashes\" must be an array");
    for (const auto& hash : hashes) {
      auto bytes = hash.is_string() ? crypto::hex_decode(hash.get<std::string>()) : Result<crypto::Bytes>(crypto::Bytes{});
      if (!bytes || bytes->size() != 32) {
        return fail(ErrorCode::config_invalid, "\"expected.policy_hashes\" holds something that is not a SHA-256 in hex");
      }
      config.policy_hashes.push_back(crypto::hex_encode(*bytes));  // lower case
    }
    policy.erase("policy_hashes");
  }
  if (policy.contains("min_token_validity_s")) {
    if (!policy["min_token_validity_s"].is_number_integer() || policy["min_token_validity_s"].get<std::int64_t>() < 0) {
      return fail(ErrorCode::config_invalid, "\"expected.min_token_validity_s\" must be an integer ≥ 0");
    }
    config.min_token_validity_s = policy["min_token_validity_s"].get<std::int64_t>();
    policy.erase("min_token_validity_s");
  }
  auto parsed = attestation::Policy::from_json(policy);
  if (!parsed) return fail(parsed.error().code, "\"expected\": " + parsed.error().detail);
  config.policy = std::move(*parsed);
  if (config.policy.measurements.empty()) {
    return fail(ErrorCode::config_invalid,
                "\"expected.measurements\" is empty: list the measurements of the platform builds the hospital approves");
  }
  return config;
}

Result<HospitalConfig> HospitalConfig::load(const std::filesystem::path& file) {
  auto text = service::read_text_file(file.string());
  if (!text) return std::unexpected(text.error());
  auto document = nlohmann::json::parse(*text, nullptr, false);
  if (document.is_discarded()) return fail(ErrorCode::config_invalid, file.string() + " is not JSON");
  auto config = from_json(document);
  if (!config) return fail(config.error().code, file.string() + ": " + config.error().detail);
  return config;
}

nlohmann::json HospitalConfig::to_json() const {
  nlohmann::json expected = policy.to_json();
  expected["policy_hashes"] = policy_hashes;
  expected["min_token_validity_s"] = min_token_validity_s;
  return {{"hospital", hospital},
          {"tenant", tenant},
          {"platform_url", platform_url},
          {"attestation_url", attestation_url},
          {"identifier_system", identifier_system},
          {"expected", expected}};
}

}  // namespace cloister::platform

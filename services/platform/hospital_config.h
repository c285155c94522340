#pragma once
// The hospital's configuration of what it trusts (docs/portal.md "The hospital's configuration"):
// one JSON file, read by the browser portal (served beside it as config.json) and by `cloister
// submit` / `cloister demo`, so both check the platform against the same expectations.
//
//   {"hospital": "Demo Hospital", "tenant": "demo-hospital",
//    "platform_url": "https://…", "attestation_url": "https://…", "identifier_system": "urn:cloister:mrn",
//    "expected": {"tee_types": ["sgx"], "allow_simulated": false, "allow_debug": false,
//                 "measurements": ["<hex>"], "policy_hashes": ["<hex>"], "tcb_statuses": ["UpToDate"],
//                 "min_token_validity_s": 30}}
//
// "expected" is a relying-party policy (docs/tokens.md §5: tee_types, measurements, signers, min_svn,
// allow_debug, allow_simulated, tcb_statuses, product_ids) plus policy_hashes (the attestation
// service's appraisal policies the hospital accepts; empty = any) and min_token_validity_s. The
// measurement allow-list is required: a hospital that pins no code trusts any code.

#include "cloister/attestation/policy.h"
#include "cloister/core/error.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace cloister::platform {

struct HospitalConfig {
  std::string hospital;
  std::string tenant;
  std::string platform_url;
  std::string attestation_url;
  std::string identifier_system = "urn:cloister:mrn";
  attestation::Policy policy;
  std::vector<std::string> policy_hashes;  // lower-case hex; empty = any
  std::int64_t min_token_validity_s = 30;

  // config_invalid naming the member (policy_invalid for a bad policy member).
  static Result<HospitalConfig> from_json(const nlohmann::json& document);
  static Result<HospitalConfig> load(const std::filesystem::path& file);
  nlohmann::json to_json() const;
};

}  // namespace cloister::platform

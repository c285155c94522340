#pragma once
// PolicyStore: the appraisal policy of each evidence format, as versioned documents persisted in
// <state_dir>/policies (docs/attestation.md, "Policies").
//
//   policies/<format>/0000000001.json   one file per version, never rewritten:
//       {"format":"sgx","version":1,"created_at":<unix s>,"author":"config","comment":"…",
//        "policy_hash":"<hex>","policy":{…canonical policy…}}
//   policies/audit.jsonl                one line per change (who, format, version, hashes)
//
// Versions are monotonic per format (1, 2, …); the highest is in force. Files are created
// atomically and never replaced, so the whole history stays. At first start each format gets version
// 1 from its seed (the configuration); later starts load what is stored and ignore the seed. A
// stored file whose policy_hash is not the hash of its policy is refused (config_invalid).
// Thread-safe.

#include "cloister/attestation/policy.h"
#include "cloister/core/clock.h"
#include "cloister/core/error.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cloister::attest {

struct PolicyVersion {
  std::string format;
  std::uint64_t version = 0;
  std::int64_t created_at = 0;  // Unix seconds
  std::string author;           // the admin credential's name, or "config" for the seed
  std::string comment;          // the change's free-text reason (may be empty)
  attestation::Policy policy;
  std::string hash;             // policy.hash(): the policy_hash claim of tokens issued under it

  nlohmann::json to_json() const;
  // Strict: policy_invalid / invalid_json on any malformed member (used for stored files).
  static Result<PolicyVersion> from_json(const nlohmann::json& document);
};

class PolicyStore {
 public:
  // Loads or seeds every format in `seeds` (each format the service verifies has one).
  static Result<std::unique_ptr<PolicyStore>> open(const std::filesystem::path& directory, const Clock& clock,
                                                   const std::map<std::string, attestation::Policy>& seeds);

  // The version in force; nullptr for a format the store does not hold.
  std::shared_ptr<const PolicyVersion> current(std::string_view format) const;
  // Every version of a format, oldest first (empty for an unknown format).
  std::vector<std::shared_ptr<const PolicyVersion>> versions(std::string_view format) const;
  std::vector<std::string> formats() const;

  struct Change {
    std::shared_ptr<const PolicyVersion> version;
    bool changed = false;  // false: the policy equals the one in force, no version was made
  };
  // A new version (persisted before it is in force). not_found for an unknown format; conflict when
  // base_version is given and is not the version in force (someone changed it meanwhile);
  // invalid_argument for an oversized or non-printable author/comment.
  Result<Change> put(std::string_view format, attestation::Policy policy, std::string author, std::string comment,
                     std::optional<std::uint64_t> base_version);

  const std::filesystem::path& directory() const { return directory_; }

 private:
  PolicyStore(std::filesystem::path directory, const Clock& clock);
  std::filesystem::path version_path(std::string_view format, std::uint64_t version) const;

  std::filesystem::path directory_;
  const Clock& clock_;
  mutable std::mutex mutex_;
  std::map<std::string, std::vector<std::shared_ptr<const PolicyVersion>>, std::less<>> versions_;
};

}  // namespace cloister::attest

#include "policy_store.h"

#include "cloister/core/log.h"
#include "cloister/core/private_files.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

namespace cloister::attest {
namespace {

constexpr std::size_t kMaxPolicyFileSize = 1024 * 1024;
constexpr std::size_t kMaxAuthorSize = 64;
constexpr std::size_t kMaxCommentSize = 512;
constexpr std::string_view kAuditFile = "audit.jsonl";
constexpr std::size_t kVersionDigits = 10;

namespace member {
constexpr std::string_view kFormat = "format";
constexpr std::string_view kVersion = "version";
constexpr std::string_view kCreatedAt = "created_at";
constexpr std::string_view kAuthor = "author";
constexpr std::string_view kComment = "comment";
constexpr std::string_view kPolicyHash = "policy_hash";
constexpr std::string_view kPolicy = "policy";
}  // namespace member

bool printable(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

// A format id names a directory: lower-case letters and digits only.
bool is_format_id(std::string_view format) {
  return !format.empty() && format.size() <= 32 &&
         std::all_of(format.begin(), format.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); });
}

std::optional<std::uint64_t> version_of_file_name(const std::filesystem::path& path) {
  const auto name = path.filename().string();
  if (name.size() != kVersionDigits + 5 || !name.ends_with(".json")) return std::nullopt;
  std::uint64_t version = 0;
  auto [end, error] = std::from_chars(name.data(), name.data() + kVersionDigits, version);
  if (error != std::errc() || end != name.data() + kVersionDigits || version == 0) return std::nullopt;
  return version;
}

}  // namespace

nlohmann::json PolicyVersion::to_json() const {
  return {{member::kFormat, format},         {member::kVersion, version},     {member::kCreatedAt, created_at},
          {member::kAuthor, author},         {member::kComment, comment},     {member::kPolicyHash, hash},
          {member::kPolicy, policy.to_json()}};
}

Result<PolicyVersion> PolicyVersion::from_json(const nlohmann::json& document) {
  auto invalid = [](std::string_view why) { return fail(ErrorCode::invalid_json, "policy version: " + std::string(why)); };
  if (!document.is_object()) return invalid("not an object");
  for (auto name : {member::kFormat, member::kAuthor, member::kComment, member::kPolicyHash}) {
    if (!document.contains(name) || !document.at(name).is_string()) return invalid(std::string(name) + " must be a string");
  }
  if (!document.contains(member::kVersion) || !document.at(member::kVersion).is_number_unsigned()) {
    return invalid("version must be a positive integer");
  }
  if (!document.contains(member::kCreatedAt) || !document.at(member::kCreatedAt).is_number_integer()) {
    return invalid("created_at must be an integer");
  }
  if (!document.contains(member::kPolicy)) return invalid("policy is missing");
  auto policy = attestation::Policy::from_json(document.at(member::kPolicy));
  if (!policy) return std::unexpected(policy.error());
  PolicyVersion version;
  version.format = document.at(member::kFormat).get<std::string>();
  version.version = document.at(member::kVersion).get<std::uint64_t>();
  version.created_at = document.at(member::kCreatedAt).get<std::int64_t>();
  version.author = document.at(member::kAuthor).get<std::string>();
  version.comment = document.at(member::kComment).get<std::string>();
  version.policy = std::move(*policy);
  version.hash = version.policy.hash();
  if (version.hash != document.at(member::kPolicyHash).get<std::string>()) {
    return invalid("policy_hash is not the hash of the policy");
  }
  return version;
}

PolicyStore::PolicyStore(std::filesystem::path directory, const Clock& clock)
    : directory_(std::move(directory)), clock_(clock) {}

std::filesystem::path PolicyStore::version_path(std::string_view format, std::uint64_t version) const {
  char name[32];
  std::snprintf(name, sizeof name, "%010llu.json", static_cast<unsigned long long>(version));
  return directory_ / std::string(format) / name;
}

Result<std::unique_ptr<PolicyStore>> PolicyStore::open(const std::filesystem::path& directory, const Clock& clock,
                                                       const std::map<std::string, attestation::Policy>& seeds) {
  std::unique_ptr<PolicyStore> store(new PolicyStore(directory, clock));
  if (auto ready = ensure_private_directory(directory); !ready) return std::unexpected(ready.error());
  for (const auto& [format, seed] : seeds) {
    if (!is_format_id(format)) return fail(ErrorCode::config_invalid, "not a format id: " + format);
    const auto format_directory = directory / format;
    if (auto ready = ensure_private_directory(format_directory); !ready) return std::unexpected(ready.error());
    std::vector<std::pair<std::uint64_t, std::filesystem::path>> files;
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(format_directory, error)) {
      if (auto version = version_of_file_name(entry.path())) files.emplace_back(*version, entry.path());
    }
    if (error) return fail(ErrorCode::io_error, "cannot list " + format_directory.string() + ": " + error.message());
    std::sort(files.begin(), files.end());
    auto& history = store->versions_[format];
    for (const auto& [number, path] : files) {
      auto text = read_file(path, kMaxPolicyFileSize);
      if (!text) return std::unexpected(text.error());
      auto document = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
      auto version = PolicyVersion::from_json(document);
      if (!version) return fail(ErrorCode::config_invalid, path.string() + ": " + version.error().detail);
      if (version->version != number || version->format != format) {
        return fail(ErrorCode::config_invalid, path.string() + ": format or version is not what the file name says");
      }
      history.push_back(std::make_shared<const PolicyVersion>(std::move(*version)));
    }
    if (history.empty()) {
      PolicyVersion first{format, 1, clock.unix_seconds(), "config", "initial policy from the configuration", seed,
                          seed.hash()};
      if (auto created = create_private_file(store->version_path(format, 1), first.to_json().dump(2) + "\n"); !created) {
        return std::unexpected(created.error());
      }
      log::info("policy seeded", {{"format", format}, {"version", 1}, {"policy_hash", first.hash}});
      history.push_back(std::make_shared<const PolicyVersion>(std::move(first)));
    } else if (history.back()->hash != seed.hash()) {
      log::warn("policy configuration ignored: a stored version is in force (change it through the admin API)",
                {{"format", format}, {"version", history.back()->version}, {"policy_hash", history.back()->hash}});
    }
  }
  return store;
}

std::shared_ptr<const PolicyVersion> PolicyStore::current(std::string_view format) const {
  std::lock_guard lock(mutex_);
  auto it = versions_.find(format);
  if (it == versions_.end() || it->second.empty()) return nullptr;
  return it->second.back();
}

std::vector<std::shared_ptr<const PolicyVersion>> PolicyStore::versions(std::string_view format) const {
  std::lock_guard lock(mutex_);
  auto it = versions_.find(format);
  if (it == versions_.end()) return {};
  return it->second;
}

std::vector<std::string> PolicyStore::formats() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [format, history] : versions_) out.push_back(format);
  return out;
}

Result<PolicyStore::Change> PolicyStore::put(std::string_view format, attestation::Policy policy, std::string author,
                                             std::string comment, std::optional<std::uint64_t> base_version) {
  if (author.empty() || author.size() > kMaxAuthorSize || !printable(author)) {
    return fail(ErrorCode::invalid_argument, "author must be 1-64 printable ASCII characters");
  }
  if (comment.size() > kMaxCommentSize || !printable(comment)) {
    return fail(ErrorCode::invalid_argument, "comment must be at most 512 printable ASCII characters");
  }
  std::lock_guard lock(mutex_);
  auto it = versions_.find(format);
  if (it == versions_.end() || it->second.empty()) {
    return fail(ErrorCode::not_found, "no policy for format \"" + std::string(format.substr(0, 32)) + "\"");
  }
  auto& history = it->second;
  const auto& in_force = history.back();
  if (base_version && *base_version != in_force->version) {
    return fail(ErrorCode::conflict, "base_version " + std::to_string(*base_version) + " is not the version in force (" +
                                         std::to_string(in_force->version) + ")");
  }
  const std::string hash = policy.hash();
  if (hash == in_force->hash) return Change{in_force, false};

  PolicyVersion next{std::string(format), in_force->version + 1, clock_.unix_seconds(), std::move(author),
                     std::move(comment), std::move(policy), hash};
  if (auto created = create_private_file(version_path(format, next.version), next.to_json().dump(2) + "\n");
      !created) {
    return std::unexpected(created.error());
  }
  // The audit trail: who, what, which version — never credentials.
  nlohmann::json audit = {{"ts", next.created_at},          {"event", "policy_changed"},
                          {"who", next.author},             {"format", next.format},
                          {"version", next.version},        {"policy_hash", next.hash},
                          {"previous_version", in_force->version}, {"previous_hash", in_force->hash},
                          {"comment", next.comment}};
  if (auto appended = append_private_line(directory_ / kAuditFile, audit.dump()); !appended) {
    log::error("cannot append to the policy audit file", {{"detail", appended.error().detail}});
  }
  auto stored = std::make_shared<const PolicyVersion>(std::move(next));
  history.push_back(stored);
  return Change{stored, true};
}

}  // namespace cloister::attest

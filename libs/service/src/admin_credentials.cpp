#include "cloister/service/admin_credentials.h"

#include "cloister/core/log.h"

#include "cloister/crypto/base64.h"
#include "cloister/crypto/bytes.h"
#include "cloister/crypto/hash.h"
#include "cloister/crypto/random.h"
#include "cloister/core/private_files.h"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace cloister::service {
namespace {

constexpr std::size_t kTokenBytes = 32;
constexpr std::size_t kMaxTokenSize = 256;
constexpr std::size_t kMaxCredentials = 64;
constexpr std::string_view kBearer = "Bearer ";

bool is_name(std::string_view name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                  c == '@' || c == '-';
         });
}

Result<std::vector<AdminCredentials::Credential>> parse_list(const nlohmann::json& list, std::string_view source) {
  auto invalid = [&](std::string_view why) {
    return fail(ErrorCode::config_invalid, std::string(source) + ": " + std::string(why));
  };
  if (!list.is_array()) return invalid("must be an array of {\"name\",\"sha256\"}");
  if (list.size() > kMaxCredentials) return invalid("too many credentials");
  std::vector<AdminCredentials::Credential> out;
  for (const auto& item : list) {
    if (!item.is_object() || item.size() != 2 || !item.contains("name") || !item.contains("sha256") ||
        !item.at("name").is_string() || !item.at("sha256").is_string()) {
      return invalid("each entry is {\"name\": string, \"sha256\": hex}");
    }
    const auto name = item.at("name").get<std::string>();
    if (!is_name(name)) return invalid("a name must be 1-64 of [A-Za-z0-9._@-]");
    for (const auto& other : out) {
      if (other.name == name) return invalid("duplicate name " + name);
    }
    auto digest = crypto::hex_decode(item.at("sha256").get<std::string>());
    if (!digest || digest->size() != 32) return invalid("sha256 of " + name + " must be 64 hex digits");
    AdminCredentials::Credential credential{name, {}};
    std::copy(digest->begin(), digest->end(), credential.sha256.begin());
    out.push_back(std::move(credential));
  }
  return out;
}

}  // namespace

std::string AdminCredentials::generate_token() { return "cla_" + crypto::base64url_encode(crypto::random_bytes(kTokenBytes)); }

std::string AdminCredentials::digest_hex(std::string_view token) {
  return crypto::hex_encode(crypto::sha256(crypto::as_bytes(token)));
}

Result<AdminCredentials> AdminCredentials::open(const nlohmann::json& configured, const std::filesystem::path& state_dir) {
  AdminCredentials result;
  if (configured.is_array() && !configured.empty()) {
    auto list = parse_list(configured, "admin.credentials");
    if (!list) return std::unexpected(list.error());
    result.credentials_ = std::move(*list);
    return result;
  }
  if (!configured.is_array()) return fail(ErrorCode::config_invalid, "admin.credentials must be an array");

  const auto stored = state_dir / kAdminCredentialsFile;
  std::error_code error;
  if (std::filesystem::exists(stored, error)) {
    auto text = read_file(stored, 64 * 1024);
    if (!text) return std::unexpected(text.error());
    auto list = parse_list(nlohmann::json::parse(*text, nullptr, false), stored.string());
    if (!list) return std::unexpected(list.error());
    if (list->empty()) return fail(ErrorCode::config_invalid, stored.string() + " holds no credential");
    result.credentials_ = std::move(*list);
    return result;
  }

  // First start: one generated credential. The token goes to a 0600 file once; only its digest stays.
  const std::string token = generate_token();
  const std::string digest = digest_hex(token);
  const auto token_path = state_dir / kAdminTokenFile;
  if (auto written = write_private_file(token_path, token + "\n"); !written) return std::unexpected(written.error());
  nlohmann::json list = nlohmann::json::array({{{"name", "admin"}, {"sha256", digest}}});
  if (auto written = write_private_file(stored, list.dump(2) + "\n"); !written) return std::unexpected(written.error());
  auto parsed = parse_list(list, stored.string());
  if (!parsed) return std::unexpected(parsed.error());
  result.credentials_ = std::move(*parsed);
  result.generated_token_path_ = token_path;
  return result;
}

Result<std::string> AdminCredentials::authenticate(std::optional<std::string_view> authorization) const {
  if (!authorization || authorization->size() <= kBearer.size() ||
      !std::equal(kBearer.begin(), kBearer.end(), authorization->begin(),
                  [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) ==
                                              std::tolower(static_cast<unsigned char>(b)); })) {
    return fail(ErrorCode::unauthenticated, "an admin bearer token is required");
  }
  auto token = authorization->substr(kBearer.size());
  if (token.size() > kMaxTokenSize) return fail(ErrorCode::unauthenticated, "invalid admin credential");
  const auto presented = crypto::sha256(crypto::as_bytes(token));
  // Every credential is compared, in constant time, whatever matched before.
  const Credential* match = nullptr;
  for (const auto& credential : credentials_) {
    const bool equal = crypto::equal_constant_time(presented, credential.sha256);
    if (equal && match == nullptr) match = &credential;
  }
  if (match == nullptr) return fail(ErrorCode::unauthenticated, "invalid admin credential");
  return match->name;
}

Result<AdminCredentials> AdminCredentials::open_and_report(const nlohmann::json& configured,
                                                           const std::filesystem::path& state_dir) {
  auto admin = open(configured, state_dir);
  if (admin && !admin->generated_token_path().empty()) {
    // The path, never the token.
    log::warn("admin credential generated: collect the token from this file (mode 0600), then delete it",
              {{"path", admin->generated_token_path().string()}});
  }
  return admin;
}

}  // namespace cloister::service

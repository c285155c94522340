#pragma once
// AdminCredentials: who may use a service's admin API — cloister-attest's policies
// (docs/attestation.md, "Admin authentication"), cloister-keys' keys (docs/keys.md).
//
// An admin presents `Authorization: Bearer <token>`. The service keeps only SHA-256 digests of the
// tokens, each with a name that the audit trail records as "who":
//   - configured: admin.credentials = [{"name":"alice","sha256":"<hex>"}, …] (the tokens never reach
//     the server's disk or configuration), or
//   - generated: with none configured, the first start generates one token, writes it once to
//     <state_dir>/admin-token (0600) for the operator to collect, and stores its digest in
//     <state_dir>/admin-credentials.json (0600); later starts load the digest.
// The check hashes the presented token and compares it with every stored digest in constant time.

#include "cloister/core/error.h"

#include <nlohmann/json_fwd.hpp>

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cloister::service {

inline constexpr std::string_view kAdminTokenFile = "admin-token";
inline constexpr std::string_view kAdminCredentialsFile = "admin-credentials.json";

class AdminCredentials {
 public:
  struct Credential {
    std::string name;
    std::array<std::uint8_t, 32> sha256{};
  };

  // From the configured list, else from (or, on first start, into) state_dir. config_invalid for a
  // malformed list (names: 1–64 of [A-Za-z0-9._@-]; sha256: 64 hex digits; no duplicate names).
  static Result<AdminCredentials> open(const nlohmann::json& configured, const std::filesystem::path& state_dir);
  // open(), and when a token was generated now, a warning in the log naming its file (never the token).
  static Result<AdminCredentials> open_and_report(const nlohmann::json& configured, const std::filesystem::path& state_dir);
  // A fresh admin token: "cla_" + base64url(32 random bytes).
  static std::string generate_token();
  // Lower-case hex SHA-256 of a token (what admin.credentials holds).
  static std::string digest_hex(std::string_view token);

  // The credential's name for a valid "Bearer <token>" header value; unauthenticated otherwise.
  Result<std::string> authenticate(std::optional<std::string_view> authorization) const;

  const std::vector<Credential>& credentials() const { return credentials_; }
  // Where a generated token was written at this start (empty when none was generated now).
  const std::filesystem::path& generated_token_path() const { return generated_token_path_; }

 private:
  std::vector<Credential> credentials_;
  std::filesystem::path generated_token_path_;
};

}  // namespace cloister::service

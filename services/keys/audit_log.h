#pragma once
// AuditLog: every key release and refusal and every admin change of cloister-keys, persisted in
// the key store's SQLite database (table `audit`) and written as one JSON log line ("audit": true).
//
// An entry says when, who (the admin credential's name; or the caller token's jti, TEE type and
// measurement; or, for a caller that was not authenticated, nothing but its address), the action,
// the key name and version, the outcome and, when refused, the code and the rule that failed. Never
// key material, tokens or credentials: nothing in an entry is secret.

#include "cloister/sqlite/database.h"

#include "cloister/core/clock.h"
#include "cloister/core/error.h"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cloister::keys {

using sqlite::Database;
using sqlite::Statement;

namespace audit_action {
inline constexpr std::string_view kCreate = "create";
inline constexpr std::string_view kRotate = "rotate";
inline constexpr std::string_view kSetPolicy = "set_policy";
inline constexpr std::string_view kDisable = "disable";
inline constexpr std::string_view kRelease = "release";
}  // namespace audit_action

namespace audit_outcome {
inline constexpr std::string_view kOk = "ok";              // the change was made, the key was released
inline constexpr std::string_view kDenied = "denied";      // the key's release policy (or its state) refused
inline constexpr std::string_view kRefused = "refused";    // the caller was not authenticated (token, mTLS, binding)
inline constexpr std::string_view kError = "error";        // bad request, unknown key or version, internal
}  // namespace audit_outcome

namespace actor_type {
inline constexpr std::string_view kAdmin = "admin";
inline constexpr std::string_view kAttested = "attested";
inline constexpr std::string_view kUnauthenticated = "unauthenticated";
}  // namespace actor_type

struct AuditEntry {
  std::int64_t id = 0;    // set by the log
  std::int64_t time = 0;  // Unix seconds; set by the log when 0
  std::string actor_type;  // actor_type::k*
  std::string actor;       // the admin credential's name, or the caller token's jti
  std::string tee;         // attested callers: the token's tee
  std::string measurement; // attested callers: the token's measurement
  std::string client;      // the client's address
  std::string action;      // audit_action::k*
  std::string key;
  std::optional<std::int64_t> key_version;
  std::string outcome;     // audit_outcome::k*
  std::string code;        // the error code when not ok
  std::string rule;        // the rule that failed (release refusals)
  std::string detail;
  std::string request_id;

  // {"id","time","who":{"type","name"|"jti","tee","measurement"},"client","action","key","version",
  //  "outcome","code","rule","detail","request_id"}; empty members left out.
  nlohmann::json to_json() const;
};

class AuditLog {
 public:
  static constexpr std::size_t kMaxList = 1000;

  AuditLog(std::shared_ptr<Database> database, const Clock& clock);

  // Creates the table when absent.
  static Status create_schema(Database& database);
  // Persists one entry (its own transaction) and logs it; returns its id.
  Result<std::int64_t> append(AuditEntry entry);
  // Inside a transaction the caller holds (so an admin change and its entry commit together). Sets
  // entry.time (when 0) and entry.id; does not log (log_line, after the commit).
  static Status insert(Database& database, AuditEntry& entry, const Clock& clock);
  static void log_line(const AuditEntry& entry);

  // The newest entries first, at most `limit` (1..kMaxList), optionally of one key.
  Result<std::vector<AuditEntry>> recent(std::size_t limit, std::string_view key = {}) const;

 private:
  std::shared_ptr<Database> database_;
  const Clock& clock_;
};

}  // namespace cloister::keys

#pragma once
// UserStore: cloister-platform's authentication — hospital tenants, their users and roles, argon2id
// passwords, sessions and lock-out (docs/platform.md, "Users and sessions").
//
// Tables (in the one platform database; create_schema() is idempotent):
//   tenants  (id TEXT PRIMARY KEY, name, created_at)
//            id: 1–64 of [a-z0-9-]
//   users    (id TEXT PRIMARY KEY, tenant_id → tenants, username, roles, password_hash,
//             failed_logins, locked_until, disabled, created_at, updated_at, password_changed_at,
//             UNIQUE (tenant_id, username))
//            id: 16 random bytes in hex; username: 1–64 of [A-Za-z0-9._@-], compared without regard
//            to ASCII case ("Alice" and "alice" are one user); roles: a comma list ("clerk,admin");
//            password_hash: libsodium's argon2id string ($argon2id$v=19$m=…,t=…,p=1$salt$hash).
//   sessions (token_sha256 BLOB PRIMARY KEY, tenant_id, user_id → users ON DELETE CASCADE,
//             created_at, last_seen_at, expires_at)
// Times are Unix seconds from the injected Clock.
//
// Roles: clerk (enters patients, submits studies), clinician (reads reports), admin (manages the
// tenant's users, reads its audit log, configures webhooks). A user holds a non-empty set of roles;
// no role implies another.
//
// Passwords: at least min_password_length characters (UTF-8 code points), at most 1024 bytes, not
// the user name (ASCII case ignored); otherwise password_too_weak. Only the argon2id hash is
// stored; the buffers that held a password are wiped once hashed or verified. A hash made with
// weaker limits than the current ones is rehashed at the next successful login.
//
// Login: an unknown tenant, an unknown user, a wrong password and a disabled user all answer
// invalid_credentials with the same detail, and each costs one argon2id verification (an unknown
// user's against a dummy hash made once at open()), so neither answer nor timing tells them apart.
// max_failed_logins consecutive failures lock the account for `lockout`: the failure that reaches
// the limit and every login until then answer account_locked (detail: until when, UTC), even with
// the right password; a success resets the count, an admin's unlock or password reset ends the lock.
// The verification runs outside the database lock, so a slow hash never stalls other requests.
//
// Sessions: the token is "cls_" + base64url(32 random bytes); only its SHA-256 is stored, so the
// database (or a copy of it) never yields a usable token. A session ends at created_at + session_ttl
// (absolute), after session_idle without use, at logout, or when its user is disabled, deleted or
// given a new password by an admin. authenticate() reads the user's current roles, so a role change
// applies to live sessions at once. last_seen_at is written at most once per touch_interval (each
// request does not cost a synchronous disk write); a session may thus go idle up to touch_interval
// early, never late. Session::session_id (the first 8 bytes of the token's SHA-256, hex) names a
// session in audit records; the token itself is never logged or stored.
//
// Thread-safe: every operation holds Database::lock() for its statements.

#include "cloister/sqlite/database.h"

#include "cloister/core/clock.h"
#include "cloister/core/error.h"
#include "cloister/core/sensitive.h"
#include "cloister/crypto/bytes.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cloister::platform {

enum class Role { clerk, clinician, admin };

// "clerk", "clinician", "admin".
std::string_view role_name(Role role);
std::optional<Role> parse_role(std::string_view name);
// A comma list ("clerk,admin"; no spaces, no repeats), in the order clerk, clinician, admin.
std::string format_roles(std::span<const Role> roles);
// nullopt for an empty list, an unknown role or a repeated one.
std::optional<std::vector<Role>> parse_roles(std::string_view list);
bool has_role(std::span<const Role> roles, Role role);

// 1–64 of [a-z0-9-].
bool is_tenant_id(std::string_view id);
// 1–64 of [A-Za-z0-9._@-].
bool is_username(std::string_view name);

struct AuthOptions {
  // libsodium's crypto_pwhash_OPSLIMIT_INTERACTIVE / MEMLIMIT_INTERACTIVE (argon2id) and its
  // minimums (for tests: fast, and worthless against an attacker).
  static constexpr std::uint64_t kInteractiveOpslimit = 2;
  static constexpr std::size_t kInteractiveMemlimit = 64 * 1024 * 1024;
  static constexpr std::uint64_t kMinimumOpslimit = 1;
  static constexpr std::size_t kMinimumMemlimit = 8192;

  std::uint64_t opslimit = kInteractiveOpslimit;
  std::size_t memlimit = kInteractiveMemlimit;
  int max_failed_logins = 5;
  std::chrono::seconds lockout = std::chrono::minutes(15);
  std::chrono::seconds session_ttl = std::chrono::hours(8);   // absolute, from login
  std::chrono::seconds session_idle = std::chrono::minutes(30);
  std::chrono::seconds touch_interval = std::chrono::seconds(60);
  std::size_t min_password_length = 12;

  // The minimum argon2id cost, for tests.
  static AuthOptions for_tests();
};

struct Tenant {
  std::string id;
  std::string name;
  std::int64_t created_at = 0;
};

// A user as the API shows it: never the password hash.
struct User {
  std::string id;
  std::string tenant;
  std::string username;
  std::vector<Role> roles;
  int failed_logins = 0;
  std::optional<std::int64_t> locked_until;  // set while (and after) a lock-out; see locked_at()
  bool disabled = false;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
  std::int64_t password_changed_at = 0;

  bool locked_at(std::int64_t now) const { return locked_until && *locked_until > now; }
  bool has(Role role) const { return has_role(roles, role); }
};

struct UserUpdate {
  std::optional<std::vector<Role>> roles;  // replaces the set; must not be empty
  std::optional<bool> disabled;           // disabling ends the user's sessions
  bool unlock = false;                    // clears the failure count and any lock-out
};

struct Session {
  std::string tenant;
  std::string user_id;
  std::string username;
  std::vector<Role> roles;
  std::int64_t created_at = 0;
  std::int64_t last_seen_at = 0;
  std::int64_t expires_at = 0;  // absolute; the idle limit may end it sooner
  std::string session_id;       // hex of the first 8 bytes of SHA-256(token): for audit records

  bool has(Role role) const { return has_role(roles, role); }
};

struct LoginResult {
  Sensitive<std::string> token;  // "cls_…": give it to the client once; it is stored nowhere
  Session session;
};

class UserStore {
 public:
  // Creates the tables when absent. Run with database.lock() held (open() does).
  static Status create_schema(sqlite::Database& database);

  // Creates the schema and the dummy hash. invalid_argument for options out of range (argon2id
  // limits outside libsodium's, non-positive counts or durations).
  static Result<std::unique_ptr<UserStore>> open(std::shared_ptr<sqlite::Database> database, const Clock& clock,
                                                 AuthOptions options = {});

  // --- tenants ---
  // invalid_argument for a bad id or a name that is empty, over 256 bytes or has control
  // characters; conflict when the id exists.
  Result<Tenant> create_tenant(std::string_view id, std::string_view name);
  Result<Tenant> tenant(std::string_view id) const;  // not_found
  Result<std::vector<Tenant>> tenants() const;       // by id

  // --- users ---
  // invalid_argument for a bad user name or empty roles; password_too_weak; not_found for an
  // unknown tenant; conflict when the user exists.
  Result<User> create_user(std::string_view tenant, std::string_view username, Sensitive<std::string> password,
                           std::span<const Role> roles);
  Result<User> user(std::string_view tenant, std::string_view username) const;  // not_found
  // By user name; not_found for an unknown tenant.
  Result<std::vector<User>> users(std::string_view tenant) const;
  // not_found; invalid_argument for empty roles.
  Result<User> update_user(std::string_view tenant, std::string_view username, const UserUpdate& update);
  // not_found. The user's sessions go too.
  Status delete_user(std::string_view tenant, std::string_view username);

  // An admin's reset: ends the user's sessions and any lock-out. not_found; password_too_weak.
  Status set_password(std::string_view tenant, std::string_view username, Sensitive<std::string> new_password);
  // Self-service: password_too_weak for the new one, then invalid_credentials unless `current` is
  // right (a failure counts toward the lock-out; account_locked while locked). Ends every session of
  // the user except keep_token's (the caller's own, when given).
  Status change_password(std::string_view tenant, std::string_view username, Sensitive<std::string> current,
                         Sensitive<std::string> new_password, std::string_view keep_token = {});

  // --- sessions ---
  // invalid_credentials (one detail for every cause) or account_locked; see the file comment.
  Result<LoginResult> login(std::string_view tenant, std::string_view username, Sensitive<std::string> password);
  // unauthenticated for a string that is not a session token; session_expired when the session does
  // not exist, has expired or gone idle, or its user is disabled (an ended session is deleted).
  Result<Session> authenticate(std::string_view token);
  // Ends the session. Idempotent: an unknown or expired session is not an error;
  // unauthenticated for a string that is not a session token.
  Status logout(std::string_view token);
  // Ends every session of the user; how many. 0 for an unknown user.
  Result<std::size_t> end_sessions(std::string_view tenant, std::string_view username);
  // Deletes expired and idle sessions; how many.
  Result<std::size_t> purge_expired();

  const AuthOptions& options() const { return options_; }

 private:
  struct Credentials;
  UserStore(std::shared_ptr<sqlite::Database> database, const Clock& clock, AuthOptions options);

  Result<std::string> hash_password(const std::string& password) const;
  Status check_password_rules(std::string_view username, std::string_view password) const;
  // The helpers below run with database_->lock() held.
  Result<bool> tenant_exists(std::string_view tenant) const;
  Result<std::optional<Credentials>> find_credentials(std::string_view tenant, std::string_view username) const;
  Result<std::optional<Credentials>> find_credentials_by_id(std::string_view user_id) const;
  Result<User> find_user(std::string_view tenant, std::string_view username) const;
  Result<std::size_t> delete_sessions_of(std::string_view user_id, const crypto::Bytes* keep);
  // Counts a failed password; true when this failure locked the account.
  Result<bool> record_failure(std::string_view user_id, std::int64_t now);
  // A password attempt (login, change_password): reads the user and runs argon2id outside the lock;
  // invalid_credentials for an unknown or disabled user (after a dummy verification), account_locked.
  struct Attempt;
  Result<Attempt> verify_attempt(std::string_view tenant, std::string_view username, const std::string& password) const;
  // Then, with the lock held, inside `transaction`: re-reads the user; a wrong password is counted
  // (committed) and answered invalid_credentials or account_locked; a password changed meanwhile is
  // answered `changed_meanwhile`; else the latest credentials.
  Result<Credentials> settle_attempt(const Attempt& attempt, std::int64_t now, sqlite::Database::Transaction& transaction,
                                     Error changed_meanwhile);

  std::shared_ptr<sqlite::Database> database_;
  const Clock& clock_;
  AuthOptions options_;
  std::string dummy_hash_;
};

}  // namespace cloister::platform

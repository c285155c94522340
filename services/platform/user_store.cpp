#include "user_store.h"

#include "cloister/crypto/base64.h"
#include "cloister/crypto/hash.h"
#include "cloister/crypto/random.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <stdexcept>

namespace cloister::platform {

using sqlite::Database;
using sqlite::Statement;

static_assert(AuthOptions::kInteractiveOpslimit == crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE);
static_assert(AuthOptions::kInteractiveMemlimit == crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE);
static_assert(AuthOptions::kMinimumOpslimit == crypto_pwhash_argon2id_OPSLIMIT_MIN);
static_assert(AuthOptions::kMinimumMemlimit == crypto_pwhash_argon2id_MEMLIMIT_MIN);

namespace {

constexpr std::size_t kMaxIdLength = 64;
constexpr std::size_t kMaxTenantName = 256;
constexpr std::size_t kMaxPasswordBytes = 1024;
constexpr std::size_t kUserIdBytes = 16;
constexpr std::size_t kTokenBytes = 32;
constexpr std::string_view kTokenPrefix = "cls_";
constexpr std::size_t kTokenLength = 4 + 43;  // prefix + unpadded base64url of 32 bytes
constexpr std::size_t kSessionIdBytes = 8;
// One detail for every cause of a failed login: it must not tell an unknown user from a wrong password.
constexpr std::string_view kBadCredentials = "wrong tenant, user name or password";

constexpr std::string_view kSchema =
    "CREATE TABLE IF NOT EXISTS tenants ("
    " id TEXT PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " created_at INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS users ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants (id),"
    " username TEXT NOT NULL COLLATE NOCASE,"
    " roles TEXT NOT NULL,"
    " password_hash TEXT NOT NULL,"
    " failed_logins INTEGER NOT NULL DEFAULT 0,"
    " locked_until INTEGER,"
    " disabled INTEGER NOT NULL DEFAULT 0,"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL,"
    " password_changed_at INTEGER NOT NULL,"
    " UNIQUE (tenant_id, username));"
    "CREATE TABLE IF NOT EXISTS sessions ("
    " token_sha256 BLOB PRIMARY KEY,"
    " tenant_id TEXT NOT NULL,"
    " user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,"
    " created_at INTEGER NOT NULL,"
    " last_seen_at INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions (user_id);"
    "CREATE INDEX IF NOT EXISTS sessions_by_expiry ON sessions (expires_at);";

constexpr std::string_view kUserColumns =
    "id, tenant_id, username, roles, failed_logins, locked_until, disabled, created_at, updated_at, "
    "password_changed_at";
constexpr std::string_view kCredentialColumns = "id, tenant_id, username, roles, password_hash, locked_until, disabled";

constexpr std::array<Role, 3> kAllRoles = {Role::clerk, Role::clinician, Role::admin};

// Zeroes a password's bytes when the operation ends, whichever way it ends.
class WipeOnExit {
 public:
  explicit WipeOnExit(std::string& secret) : secret_(secret) {}
  ~WipeOnExit() {
    if (!secret_.empty()) sodium_memzero(secret_.data(), secret_.size());
    secret_.clear();
  }
  WipeOnExit(const WipeOnExit&) = delete;
  WipeOnExit& operator=(const WipeOnExit&) = delete;

 private:
  std::string& secret_;
};

std::string sql(std::string_view head, std::string_view columns, std::string_view tail) {
  std::string text(head);
  text += columns;
  text += tail;
  return text;
}

bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool alnum(char c) { return lower_alnum(c) || (c >= 'A' && c <= 'Z'); }

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equal_ignoring_ascii_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

std::size_t code_points(std::string_view text) {
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
}

std::vector<Role> normalized(std::span<const Role> roles) {
  std::vector<Role> out;
  for (auto role : kAllRoles) {
    if (std::find(roles.begin(), roles.end(), role) != roles.end()) out.push_back(role);
  }
  return out;
}

std::string utc_text(std::int64_t unix_seconds) {
  const auto seconds = static_cast<std::time_t>(unix_seconds);
  std::tm parts{};
  if (::gmtime_r(&seconds, &parts) == nullptr) return std::to_string(unix_seconds);
  std::array<char, 32> text{};
  const auto size = std::strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%SZ", &parts);
  return std::string(text.data(), size);
}

Error locked_error(std::int64_t until) {
  return Error{ErrorCode::account_locked, "the account is locked until " + utc_text(until)};
}

bool verify_password(const std::string& hash, const std::string& password) {
  // libsodium reads the hash as a C string of at most crypto_pwhash_STRBYTES - 1 characters.
  if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return false;
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

bool is_token(std::string_view token) {
  if (token.size() != kTokenLength || !token.starts_with(kTokenPrefix)) return false;
  return std::all_of(token.begin() + static_cast<std::ptrdiff_t>(kTokenPrefix.size()), token.end(),
                     [](char c) { return alnum(c) || c == '-' || c == '_'; });
}

crypto::Bytes token_digest(std::string_view token) { return crypto::sha256(crypto::as_bytes(token)); }

std::string session_id_of(const crypto::Bytes& digest) {
  return crypto::hex_encode(crypto::BytesView(digest.data(), kSessionIdBytes));
}

Result<std::size_t> count_rows(Statement& statement) {
  std::size_t count = 0;
  while (true) {
    auto row = statement.step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return count;
    ++count;
  }
}

Result<User> read_user(const Statement& row) {
  User user;
  user.id = row.column_text(0);
  user.tenant = row.column_text(1);
  user.username = row.column_text(2);
  auto roles = parse_roles(row.column_text(3));
  if (!roles) return fail(ErrorCode::internal, "user " + user.id + " has malformed roles in the database");
  user.roles = std::move(*roles);
  user.failed_logins = static_cast<int>(row.column_int(4));
  if (!row.column_is_null(5)) user.locked_until = row.column_int(5);
  user.disabled = row.column_int(6) != 0;
  user.created_at = row.column_int(7);
  user.updated_at = row.column_int(8);
  user.password_changed_at = row.column_int(9);
  return user;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Roles, names, options

std::string_view role_name(Role role) {
  switch (role) {
    case Role::clerk:
      return "clerk";
    case Role::clinician:
      return "clinician";
    case Role::admin:
      return "admin";
  }
  return "unknown";
}

std::optional<Role> parse_role(std::string_view name) {
  for (auto role : kAllRoles) {
    if (role_name(role) == name) return role;
  }
  return std::nullopt;
}

std::string format_roles(std::span<const Role> roles) {
  std::string out;
  for (auto role : normalized(roles)) {
    if (!out.empty()) out += ',';
    out += role_name(role);
  }
  return out;
}

std::optional<std::vector<Role>> parse_roles(std::string_view list) {
  if (list.empty()) return std::nullopt;
  std::vector<Role> roles;
  while (true) {
    const auto comma = list.find(',');
    auto role = parse_role(list.substr(0, comma));
    if (!role || has_role(roles, *role)) return std::nullopt;
    roles.push_back(*role);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return normalized(roles);
}

bool has_role(std::span<const Role> roles, Role role) {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

bool is_tenant_id(std::string_view id) {
  return !id.empty() && id.size() <= kMaxIdLength &&
         std::all_of(id.begin(), id.end(), [](char c) { return lower_alnum(c) || c == '-'; });
}

bool is_username(std::string_view name) {
  return !name.empty() && name.size() <= kMaxIdLength && std::all_of(name.begin(), name.end(), [](char c) {
           return alnum(c) || c == '.' || c == '_' || c == '@' || c == '-';
         });
}

AuthOptions AuthOptions::for_tests() {
  AuthOptions options;
  options.opslimit = kMinimumOpslimit;
  options.memlimit = kMinimumMemlimit;
  return options;
}

// ---------------------------------------------------------------------------------------------
// Store

struct UserStore::Credentials {
  std::string id;
  std::string tenant;
  std::string username;
  std::string roles;
  std::string password_hash;
  std::optional<std::int64_t> locked_until;
  bool disabled = false;

  static Credentials read(const Statement& row) {
    Credentials out;
    out.id = row.column_text(0);
    out.tenant = row.column_text(1);
    out.username = row.column_text(2);
    out.roles = row.column_text(3);
    out.password_hash = row.column_text(4);
    if (!row.column_is_null(5)) out.locked_until = row.column_int(5);
    out.disabled = row.column_int(6) != 0;
    return out;
  }
  bool locked_at(std::int64_t now) const { return locked_until && *locked_until > now; }
};

struct UserStore::Attempt {
  Credentials found;
  bool right = false;
};

UserStore::UserStore(std::shared_ptr<Database> database, const Clock& clock, AuthOptions options)
    : database_(std::move(database)), clock_(clock), options_(options) {}

Status UserStore::create_schema(Database& database) { return database.execute(std::string(kSchema)); }

Result<std::unique_ptr<UserStore>> UserStore::open(std::shared_ptr<Database> database, const Clock& clock,
                                                   AuthOptions options) {
  if (!database) throw std::invalid_argument("UserStore needs a database");
  if (options.opslimit < crypto_pwhash_argon2id_OPSLIMIT_MIN || options.opslimit > crypto_pwhash_argon2id_OPSLIMIT_MAX ||
      options.memlimit < crypto_pwhash_argon2id_MEMLIMIT_MIN || options.memlimit > crypto_pwhash_argon2id_MEMLIMIT_MAX) {
    return fail(ErrorCode::invalid_argument, "argon2id limits outside libsodium's range");
  }
  if (options.max_failed_logins < 1 || options.lockout.count() <= 0 || options.session_ttl.count() <= 0 ||
      options.session_idle.count() <= 0 || options.touch_interval.count() < 0 || options.min_password_length < 1 ||
      options.min_password_length > kMaxPasswordBytes) {
    return fail(ErrorCode::invalid_argument, "authentication options out of range");
  }
  if (sodium_init() < 0) return fail(ErrorCode::internal, "libsodium failed to initialise");

  std::unique_ptr<UserStore> store(new UserStore(database, clock, options));
  // The hash an unknown user's login is verified against: same cost as a real one.
  std::string dummy = crypto::random_hex(kTokenBytes);
  auto dummy_hash = store->hash_password(dummy);
  sodium_memzero(dummy.data(), dummy.size());
  if (!dummy_hash) return std::unexpected(dummy_hash.error());
  store->dummy_hash_ = std::move(*dummy_hash);

  auto lock = database->lock();
  Database::Transaction transaction(*database);
  if (auto begun = transaction.begin(); !begun) return std::unexpected(begun.error());
  if (auto schema = create_schema(*database); !schema) return std::unexpected(schema.error());
  if (auto committed = transaction.commit(); !committed) return std::unexpected(committed.error());
  return store;
}

Result<std::string> UserStore::hash_password(const std::string& password) const {
  std::array<char, crypto_pwhash_STRBYTES> out{};
  if (crypto_pwhash_str_alg(out.data(), password.data(), password.size(), options_.opslimit, options_.memlimit,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return fail(ErrorCode::internal, "argon2id hashing failed (out of memory?)");
  }
  return std::string(out.data());
}

Status UserStore::check_password_rules(std::string_view username, std::string_view password) const {
  if (password.size() > kMaxPasswordBytes) {
    return fail(ErrorCode::password_too_weak, "the password is longer than " + std::to_string(kMaxPasswordBytes) + " bytes");
  }
  if (code_points(password) < options_.min_password_length) {
    return fail(ErrorCode::password_too_weak,
                "the password is shorter than " + std::to_string(options_.min_password_length) + " characters");
  }
  if (equal_ignoring_ascii_case(password, username)) {
    return fail(ErrorCode::password_too_weak, "the password is the user name");
  }
  return {};
}

Result<std::optional<UserStore::Credentials>> UserStore::find_credentials(std::string_view tenant,
                                                                          std::string_view username) const {
  auto select = database_->prepare(
      sql("SELECT ", kCredentialColumns, " FROM users WHERE tenant_id = ?1 AND username = ?2"));
  if (!select) return std::unexpected(select.error());
  select->bind(1, tenant).bind(2, username);
  auto row = select->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::optional<Credentials>();
  return std::optional<Credentials>(Credentials::read(*select));
}

Result<std::optional<UserStore::Credentials>> UserStore::find_credentials_by_id(std::string_view user_id) const {
  auto select = database_->prepare(sql("SELECT ", kCredentialColumns, " FROM users WHERE id = ?1"));
  if (!select) return std::unexpected(select.error());
  select->bind(1, user_id);
  auto row = select->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::optional<Credentials>();
  return std::optional<Credentials>(Credentials::read(*select));
}

Result<User> UserStore::find_user(std::string_view tenant, std::string_view username) const {
  auto select = database_->prepare(sql("SELECT ", kUserColumns, " FROM users WHERE tenant_id = ?1 AND username = ?2"));
  if (!select) return std::unexpected(select.error());
  select->bind(1, tenant).bind(2, username);
  auto row = select->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return fail(ErrorCode::not_found, "no user " + std::string(username) + " in tenant " + std::string(tenant));
  return read_user(*select);
}

Result<bool> UserStore::tenant_exists(std::string_view tenant) const {
  auto select = database_->prepare("SELECT 1 FROM tenants WHERE id = ?1");
  if (!select) return std::unexpected(select.error());
  select->bind(1, tenant);
  return select->step();
}

Result<std::size_t> UserStore::delete_sessions_of(std::string_view user_id, const crypto::Bytes* keep) {
  auto remove = keep ? database_->prepare("DELETE FROM sessions WHERE user_id = ?1 AND token_sha256 <> ?2 RETURNING 1")
                     : database_->prepare("DELETE FROM sessions WHERE user_id = ?1 RETURNING 1");
  if (!remove) return std::unexpected(remove.error());
  remove->bind(1, user_id);
  if (keep) remove->bind_blob(2, *keep);
  return count_rows(*remove);
}

Result<bool> UserStore::record_failure(std::string_view user_id, std::int64_t now) {
  // A lock that has run out starts the count again.
  auto update = database_->prepare(
      "UPDATE users SET"
      " failed_logins = CASE WHEN locked_until IS NOT NULL AND locked_until <= ?2 THEN 1 ELSE failed_logins + 1 END,"
      " locked_until = CASE WHEN locked_until IS NOT NULL AND locked_until <= ?2 THEN NULL ELSE locked_until END"
      " WHERE id = ?1 RETURNING failed_logins");
  if (!update) return std::unexpected(update.error());
  update->bind(1, user_id).bind(2, now);
  auto row = update->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return false;
  const auto failures = update->column_int(0);
  if (auto done = update->run(); !done) return std::unexpected(done.error());
  if (failures < options_.max_failed_logins) return false;
  auto lock_out = database_->prepare("UPDATE users SET locked_until = ?2 WHERE id = ?1");
  if (!lock_out) return std::unexpected(lock_out.error());
  lock_out->bind(1, user_id).bind(2, now + options_.lockout.count());
  if (auto done = lock_out->run(); !done) return std::unexpected(done.error());
  return true;
}

// --- tenants ---

Result<Tenant> UserStore::create_tenant(std::string_view id, std::string_view name) {
  if (!is_tenant_id(id)) return fail(ErrorCode::invalid_argument, "a tenant id is 1-64 of [a-z0-9-]");
  if (name.empty() || name.size() > kMaxTenantName ||
      std::any_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    return fail(ErrorCode::invalid_argument, "a tenant name is 1-256 bytes without control characters");
  }
  Tenant tenant{std::string(id), std::string(name), clock_.unix_seconds()};
  auto lock = database_->lock();
  auto exists = tenant_exists(id);
  if (!exists) return std::unexpected(exists.error());
  if (*exists) return fail(ErrorCode::conflict, "tenant " + tenant.id + " exists");
  auto insert = database_->prepare("INSERT INTO tenants (id, name, created_at) VALUES (?1, ?2, ?3)");
  if (!insert) return std::unexpected(insert.error());
  insert->bind(1, tenant.id).bind(2, tenant.name).bind(3, tenant.created_at);
  if (auto done = insert->run(); !done) return std::unexpected(done.error());
  return tenant;
}

Result<Tenant> UserStore::tenant(std::string_view id) const {
  auto lock = database_->lock();
  auto select = database_->prepare("SELECT id, name, created_at FROM tenants WHERE id = ?1");
  if (!select) return std::unexpected(select.error());
  select->bind(1, id);
  auto row = select->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return fail(ErrorCode::not_found, "no tenant " + std::string(id));
  return Tenant{select->column_text(0), select->column_text(1), select->column_int(2)};
}

Result<std::vector<Tenant>> UserStore::tenants() const {
  auto lock = database_->lock();
  auto select = database_->prepare("SELECT id, name, created_at FROM tenants ORDER BY id");
  if (!select) return std::unexpected(select.error());
  std::vector<Tenant> out;
  while (true) {
    auto row = select->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return out;
    out.push_back(Tenant{select->column_text(0), select->column_text(1), select->column_int(2)});
  }
}

// --- users ---

Result<User> UserStore::create_user(std::string_view tenant, std::string_view username,
                                    Sensitive<std::string> password, std::span<const Role> roles) {
  std::string& secret = password.reveal();
  WipeOnExit wipe(secret);
  if (!is_username(username)) return fail(ErrorCode::invalid_argument, "a user name is 1-64 of [A-Za-z0-9._@-]");
  if (roles.empty()) return fail(ErrorCode::invalid_argument, "a user needs at least one role");
  if (auto rules = check_password_rules(username, secret); !rules) return std::unexpected(rules.error());

  // Refuse what can be refused before paying for the hash; the insert checks again.
  auto check = [&]() -> Status {
    auto exists = tenant_exists(tenant);
    if (!exists) return std::unexpected(exists.error());
    if (!*exists) return fail(ErrorCode::not_found, "no tenant " + std::string(tenant));
    auto found = find_credentials(tenant, username);
    if (!found) return std::unexpected(found.error());
    if (*found) return fail(ErrorCode::conflict, "user " + std::string(username) + " exists in tenant " + std::string(tenant));
    return {};
  };
  {
    auto lock = database_->lock();
    if (auto checked = check(); !checked) return std::unexpected(checked.error());
  }
  auto hash = hash_password(secret);
  if (!hash) return std::unexpected(hash.error());

  User user;
  user.id = crypto::random_hex(kUserIdBytes);
  user.tenant = std::string(tenant);
  user.username = std::string(username);
  user.roles = normalized(roles);
  user.created_at = user.updated_at = user.password_changed_at = clock_.unix_seconds();

  auto lock = database_->lock();
  Database::Transaction transaction(*database_);
  if (auto begun = transaction.begin(); !begun) return std::unexpected(begun.error());
  if (auto checked = check(); !checked) return std::unexpected(checked.error());
  auto insert = database_->prepare(
      "INSERT INTO users (id, tenant_id, username, roles, password_hash, failed_logins, locked_until, disabled,"
      " created_at, updated_at, password_changed_at) VALUES (?1, ?2, ?3, ?4, ?5, 0, NULL, 0, ?6, ?6, ?6)");
  if (!insert) return std::unexpected(insert.error());
  insert->bind(1, user.id)
      .bind(2, user.tenant)
      .bind(3, user.username)
      .bind(4, format_roles(user.roles))
      .bind(5, *hash)
      .bind(6, user.created_at);
  if (auto done = insert->run(); !done) return std::unexpected(done.error());
  if (auto committed = transaction.commit(); !committed) return std::unexpected(committed.error());
  return user;
}

Result<User> UserStore::user(std::string_view tenant, std::string_view username) const {
  auto lock = database_->lock();
  return find_user(tenant, username);
}

Result<std::vector<User>> UserStore::users(std::string_view tenant) const {
  auto lock = database_->lock();
  auto exists = tenant_exists(tenant);
  if (!exists) return std::unexpected(exists.error());
  if (!*exists) return fail(ErrorCode::not_found, "no tenant " + std::string(tenant));
  auto select = database_->prepare(sql("SELECT ", kUserColumns, " FROM users WHERE tenant_id = ?1 ORDER BY username"));
  if (!select) return std::unexpected(select.error());
  select->bind(1, tenant);
  std::vector<User> out;
  while (true) {
    auto row = select->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return out;
    auto user = read_user(*select);
    if (!user) return std::unexpected(user.error());
    out.push_back(std::move(*user));
  }
}

Result<User> UserStore::update_user(std::string_view tenant, std::string_view username, const UserUpdate& update) {
  if (update.roles && update.roles->empty()) return fail(ErrorCode::invalid_argument, "a user needs at least one role");
  const auto now = clock_.unix_seconds();
  auto lock = database_->lock();
  Database::Transaction transaction(*database_);
  if (auto begun = transaction.begin(); !begun) return std::unexpected(begun.error());
  auto user = find_user(tenant, username);
  if (!user) return std::unexpected(user.error());

  auto change = database_->prepare(
      "UPDATE users SET roles = COALESCE(?2, roles), disabled = COALESCE(?3, disabled),"
      " failed_logins = CASE WHEN ?4 THEN 0 ELSE failed_logins END,"
      " locked_until = CASE WHEN ?4 THEN NULL ELSE locked_until END, updated_at = ?5 WHERE id = ?1");
  if (!change) return std::unexpected(change.error());
  change->bind(1, user->id);
  if (update.roles) {
    change->bind(2, format_roles(*update.roles));
  } else {
    change->bind_null(2);
  }
  change->bind(3, update.disabled ? std::optional<std::int64_t>(*update.disabled ? 1 : 0) : std::nullopt)
      .bind(4, std::int64_t{update.unlock ? 1 : 0})
      .bind(5, now);
  if (auto done = change->run(); !done) return std::unexpected(done.error());
  if (update.disabled.value_or(false)) {
    if (auto ended = delete_sessions_of(user->id, nullptr); !ended) return std::unexpected(ended.error());
  }
  auto changed = find_user(tenant, username);
  if (!changed) return std::unexpected(changed.error());
  if (auto committed = transaction.commit(); !committed) return std::unexpected(committed.error());
  return changed;
}

Status UserStore::delete_user(std::string_view tenant, std::string_view username) {
  auto lock = database_->lock();
  Database::Transaction transaction(*database_);
  if (auto begun = transaction.begin(); !begun) return std::unexpected(begun.error());
  auto found = find_credentials(tenant, username);
  if (!found) return std::unexpected(found.error());
  if (!*found) return fail(ErrorCode::not_found, "no user " + std::string(username) + " in tenant " + std::string(tenant));
  if (auto ended = delete_sessions_of((*found)->id, nullptr); !ended) return std::unexpected(ended.error());
  auto remove = database_->prepare("DELETE FROM users WHERE id = ?1");
  if (!remove) return std::unexpected(remove.error());
  remove->bind(1, (*found)->id);
  if (auto done = remove->run(); !done) return std::unexpected(done.error());
  return transaction.commit();
}

Status UserStore::set_password(std::string_view tenant, std::string_view username, Sensitive<std::string> new_password) {
  std::string& secret = new_password.reveal();
  WipeOnExit wipe(secret);
  {
    auto lock = database_->lock();
    auto found = find_credentials(tenant, username);
    if (!found) return std::unexpected(found.error());
    if (!*found) return fail(ErrorCode::not_found, "no user " + std::string(username) + " in tenant " + std::string(tenant));
  }
  if (auto rules = check_password_rules(username, secret); !rules) return std::unexpected(rules.error());
  auto hash = hash_password(secret);
  if (!hash) return std::unexpected(hash.error());

  const auto now = clock_.unix_seconds();
  auto lock = database_->lock();
  Database::Transaction transaction(*database_);
  if (auto begun = transaction.begin(); !begun) return std::unexpected(begun.error());
  auto found = find_credentials(tenant, username);
  if (!found) return std::unexpected(found.error());
  if (!*found) return fail(ErrorCode::not_found, "no user " + std::string(username) + " in tenant " + std::string(tenant));
  auto change = database_->prepare(
      "UPDATE users SET password_hash = ?2, password_changed_at = ?3, updated_at = ?3, failed_logins = 0,"
      " locked_until = NULL WHERE id = ?1");
  if (!change) return std::unexpected(change.error());
  change->bind(1, (*found)->id).bind(2, *hash).bind(3, now);
  if (auto done = change->run(); !done) return std::unexpected(done.error());
  if (auto ended = delete_sessions_of((*found)->id, nullptr); !ended) return std::unexpected(ended.error());
  return transaction.commit();
}

Status UserStore::change_password(std::string_view tenant, std::string_view username, Sensitive<std::string> current,
                                  Sensitive<std::string> new_password, std::string_view keep_token) {
  std::string& old_secret = current.reveal();
  std::string& new_secret = new_password.reveal();
  WipeOnExit wipe_old(old_secret);
  WipeOnExit wipe_new(new_secret);
  if (auto rules = check_password_rules(username, new_secret); !rules) return std::unexpected(rules.error());
  if (new_secret == old_secret) return fail(ErrorCode::password_too_weak, "the new password is the current one");

  auto attempt = verify_attempt(tenant, username, old_secret);
  if (!attempt) return std::unexpected(attempt.error());
  const auto* found = &attempt->found;
  const bool right = attempt->right;
  std::string hash;
  if (right) {
    auto made = hash_password(new_secret);
    if (!made) return std::unexpected(made.error());
    hash = std::move(*made);
  }

  const auto now = clock_.unix_seconds();
  auto lock = database_->lock();
  Database::Transaction transaction(*database_);
  if (auto begun = transaction.begin(); !begun) return std::unexpected(begun.error());
  auto latest = settle_attempt(*attempt, now, transaction,
                               Error{ErrorCode::conflict, "the password was changed meanwhile"});
  if (!latest) return std::unexpected(latest.error());
  auto change = database_->prepare(
      "UPDATE users SET password_hash = ?2, password_changed_at = ?3, updated_at = ?3, failed_logins = 0,"
      " locked_until = NULL WHERE id = ?1");
  if (!change) return std::unexpected(change.error());
  change->bind(1, found->id).bind(2, hash).bind(3, now);
  if (auto done = change->run(); !done) return std::unexpected(done.error());
  std::optional<crypto::Bytes> keep;
  if (is_token(keep_token)) keep = token_digest(keep_token);
  if (auto ended = delete_sessions_of(found->id, keep ? &*keep : nullptr); !ended) return std::unexpected(ended.error());
  return transaction.commit();
}

Result<UserStore::Attempt> UserStore::verify_attempt(std::string_view tenant, std::string_view username,
                                                    const std::string& password) const {
  std::optional<Credentials> found;
  {
    auto lock = database_->lock();
    auto read = find_credentials(tenant, username);
    if (!read) return std::unexpected(read.error());
    found = std::move(*read);
  }
  // Unknown tenant, unknown user and disabled user: one verification each, one answer.
  if (!found || found->disabled) {
    (void)verify_password(found ? found->password_hash : dummy_hash_, password);
    return fail(ErrorCode::invalid_credentials, std::string(kBadCredentials));
  }
  if (found->locked_at(clock_.unix_seconds())) return std::unexpected(locked_error(*found->locked_until));
  const bool right = verify_password(found->password_hash, password);  // argon2id: outside the lock
  return Attempt{std::move(*found), right};
}

Result<UserStore::Credentials> UserStore::settle_attempt(const Attempt& attempt, std::int64_t now,
                                                         Database::Transaction& transaction, Error changed_meanwhile) {
  // Re-read: the user may have been disabled, locked or given a new password meanwhile.
  auto latest = find_credentials_by_id(attempt.found.id);
  if (!latest) return std::unexpected(latest.error());
  if (!*latest || (*latest)->disabled) return fail(ErrorCode::invalid_credentials, std::string(kBadCredentials));
  if ((*latest)->locked_at(now)) return std::unexpected(locked_error(*(*latest)->locked_until));
  if (!attempt.right) {
    auto locked = record_failure(attempt.found.id, now);
    if (!locked) return std::unexpected(locked.error());
    if (auto committed = transaction.commit(); !committed) return std::unexpected(committed.error());
    if (*locked) return std::unexpected(locked_error(now + options_.lockout.count()));
    return fail(ErrorCode::invalid_credentials, std::string(kBadCredentials));
  }
  if ((*latest)->password_hash != attempt.found.password_hash) return std::unexpected(std::move(changed_meanwhile));
  return std::move(**latest);
}

// --- sessions ---

Result<LoginResult> UserStore::login(std::string_view tenant, std::string_view username,
                                     Sensitive<std::string> password) {
  std::string& secret = password.reveal();
  WipeOnExit wipe(secret);

  auto attempt = verify_attempt(tenant, username, secret);
  if (!attempt) return std::unexpected(attempt.error());
  const auto* found = &attempt->found;
  const bool right = attempt->right;
  std::optional<std::string> rehashed;
  if (right && crypto_pwhash_str_needs_rehash(found->password_hash.c_str(), options_.opslimit, options_.memlimit) != 0) {
    if (auto made = hash_password(secret)) rehashed = std::move(*made);  // kept as it is when this fails
  }

  const auto now = clock_.unix_seconds();
  auto lock = database_->lock();
  Database::Transaction transaction(*database_);
  if (auto begun = transaction.begin(); !begun) return std::unexpected(begun.error());
  auto latest = settle_attempt(*attempt, now, transaction, Error{ErrorCode::invalid_credentials, std::string(kBadCredentials)});
  if (!latest) return std::unexpected(latest.error());
  auto roles = parse_roles(latest->roles);
  if (!roles) return fail(ErrorCode::internal, "user " + found->id + " has malformed roles in the database");

  auto reset = rehashed ? database_->prepare(
                              "UPDATE users SET failed_logins = 0, locked_until = NULL, password_hash = ?2 WHERE id = ?1")
                        : database_->prepare("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?1");
  if (!reset) return std::unexpected(reset.error());
  reset->bind(1, found->id);
  if (rehashed) reset->bind(2, *rehashed);
  if (auto done = reset->run(); !done) return std::unexpected(done.error());

  crypto::Bytes random = crypto::random_bytes(kTokenBytes);
  LoginResult result;
  result.token = Sensitive<std::string>(std::string(kTokenPrefix) + crypto::base64url_encode(random));
  crypto::cleanse(random);
  const auto digest = token_digest(result.token.reveal());

  Session& session = result.session;
  session.tenant = latest->tenant;
  session.user_id = found->id;
  session.username = latest->username;
  session.roles = std::move(*roles);
  session.created_at = session.last_seen_at = now;
  session.expires_at = now + options_.session_ttl.count();
  session.session_id = session_id_of(digest);

  auto insert = database_->prepare(
      "INSERT INTO sessions (token_sha256, tenant_id, user_id, created_at, last_seen_at, expires_at)"
      " VALUES (?1, ?2, ?3, ?4, ?4, ?5)");
  if (!insert) return std::unexpected(insert.error());
  insert->bind_blob(1, digest)
      .bind(2, session.tenant)
      .bind(3, session.user_id)
      .bind(4, session.created_at)
      .bind(5, session.expires_at);
  if (auto done = insert->run(); !done) return std::unexpected(done.error());
  if (auto committed = transaction.commit(); !committed) return std::unexpected(committed.error());
  return result;
}

Result<Session> UserStore::authenticate(std::string_view token) {
  if (!is_token(token)) return fail(ErrorCode::unauthenticated, "not a session token");
  const auto digest = token_digest(token);
  const auto now = clock_.unix_seconds();

  auto lock = database_->lock();
  auto select = database_->prepare(
      "SELECT s.tenant_id, s.user_id, s.created_at, s.last_seen_at, s.expires_at, u.username, u.roles, u.disabled"
      " FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_sha256 = ?1");
  if (!select) return std::unexpected(select.error());
  select->bind_blob(1, digest);
  auto row = select->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return fail(ErrorCode::session_expired, "no such session");

  Session session;
  session.tenant = select->column_text(0);
  session.user_id = select->column_text(1);
  session.created_at = select->column_int(2);
  session.last_seen_at = select->column_int(3);
  session.expires_at = select->column_int(4);
  session.username = select->column_text(5);
  auto roles = parse_roles(select->column_text(6));
  const bool disabled = select->column_int(7) != 0;
  session.session_id = session_id_of(digest);

  std::string ended;
  if (now >= session.expires_at) {
    ended = "the session reached its maximum lifetime";
  } else if (now >= session.last_seen_at + options_.session_idle.count()) {
    ended = "the session was idle too long";
  } else if (disabled) {
    ended = "the user is disabled";
  } else if (!roles) {
    ended = "the user's roles are malformed";
  }
  if (!ended.empty()) {
    auto remove = database_->prepare("DELETE FROM sessions WHERE token_sha256 = ?1");
    if (!remove) return std::unexpected(remove.error());
    remove->bind_blob(1, digest);
    if (auto done = remove->run(); !done) return std::unexpected(done.error());
    return fail(ErrorCode::session_expired, ended);
  }
  session.roles = std::move(*roles);

  if (now - session.last_seen_at >= options_.touch_interval.count()) {
    auto touch = database_->prepare("UPDATE sessions SET last_seen_at = ?2 WHERE token_sha256 = ?1");
    if (!touch) return std::unexpected(touch.error());
    touch->bind_blob(1, digest).bind(2, now);
    if (auto done = touch->run(); !done) return std::unexpected(done.error());
    session.last_seen_at = now;
  }
  return session;
}

Status UserStore::logout(std::string_view token) {
  if (!is_token(token)) return fail(ErrorCode::unauthenticated, "not a session token");
  const auto digest = token_digest(token);
  auto lock = database_->lock();
  auto remove = database_->prepare("DELETE FROM sessions WHERE token_sha256 = ?1");
  if (!remove) return std::unexpected(remove.error());
  remove->bind_blob(1, digest);
  return remove->run();
}

Result<std::size_t> UserStore::end_sessions(std::string_view tenant, std::string_view username) {
  auto lock = database_->lock();
  auto found = find_credentials(tenant, username);
  if (!found) return std::unexpected(found.error());
  if (!*found) return 0;
  return delete_sessions_of((*found)->id, nullptr);
}

Result<std::size_t> UserStore::purge_expired() {
  const auto now = clock_.unix_seconds();
  auto lock = database_->lock();
  auto remove = database_->prepare("DELETE FROM sessions WHERE expires_at <= ?1 OR last_seen_at <= ?2 RETURNING 1");
  if (!remove) return std::unexpected(remove.error());
  remove->bind(1, now).bind(2, now - options_.session_idle.count());
  return count_rows(*remove);
}

}  // namespace cloister::platform

// UserStore on a real SQLite file with real argon2id (at libsodium's minimum cost): tenants and
// users with their validation, roles, password rules, login and its indistinguishable failures,
// lock-out and its release (by time or by an admin), disabled and deleted users, sessions (absolute
// and idle expiry, logout, purge), password changes, rehashing, what reaches the disk, and a second
// store on the same file.
#include "user_store.h"

#include "cloister/core/temp_dir.h"

#include "test/file_bytes.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

namespace cloister::platform {
namespace {

using test_support::all_file_bytes;

using namespace std::chrono_literals;

constexpr std::int64_t kStart = 1'700'000'000;  // 2023-11-14T22:13:20Z
constexpr std::string_view kTenant = "st-marys";
constexpr std::string_view kAlicePassword = "correct horse battery";

Sensitive<std::string> secret(std::string_view text) { return Sensitive<std::string>(std::string(text)); }


class UserStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    open();
    ASSERT_TRUE(store_->create_tenant(kTenant, "St Mary's Hospital"));
    auto alice = store_->create_user(kTenant, "alice", secret(kAlicePassword), std::vector<Role>{Role::clerk});
    ASSERT_TRUE(alice) << alice.error().to_string();
  }

  void open(AuthOptions options = AuthOptions::for_tests()) {
    store_.reset();
    database_.reset();
    auto database = sqlite::Database::open(path());
    ASSERT_TRUE(database) << database.error().to_string();
    database_ = std::move(*database);
    auto store = UserStore::open(database_, clock_, options);
    ASSERT_TRUE(store) << store.error().to_string();
    store_ = std::move(*store);
  }

  std::filesystem::path path() const { return dir_.path() / "platform.sqlite3"; }

  LoginResult login_alice() {
    auto login = store_->login(kTenant, "alice", secret(kAlicePassword));
    EXPECT_TRUE(login) << login.error().to_string();
    return login ? std::move(*login) : LoginResult{};
  }

  Error login_error(std::string_view tenant, std::string_view user, std::string_view password) {
    auto login = store_->login(tenant, user, secret(password));
    EXPECT_FALSE(login);
    return login ? Error{} : login.error();
  }

  std::string stored_hash(std::string_view username) {
    auto select = database_->prepare("SELECT password_hash FROM users WHERE username = ?1");
    EXPECT_TRUE(select);
    select->bind(1, username);
    auto row = select->step();
    EXPECT_TRUE(row && *row);
    return select->column_text(0);
  }

  TempDir dir_;
  ManualClock clock_ = ManualClock::at_unix(kStart);
  std::shared_ptr<sqlite::Database> database_;
  std::unique_ptr<UserStore> store_;
};

TEST(Roles, ParseFormatAndHas) {
  auto roles = parse_roles("admin,clerk");
  ASSERT_TRUE(roles);
  EXPECT_EQ(*roles, (std::vector<Role>{Role::clerk, Role::admin}));
  EXPECT_EQ(format_roles(*roles), "clerk,admin");
  EXPECT_EQ(format_roles(std::vector<Role>{Role::admin, Role::clinician, Role::admin}), "clinician,admin");
  EXPECT_TRUE(has_role(*roles, Role::admin));
  EXPECT_FALSE(has_role(*roles, Role::clinician));
  EXPECT_EQ(parse_role("clinician"), Role::clinician);
  EXPECT_EQ(role_name(Role::clerk), "clerk");
  for (auto bad : {"", "nurse", "clerk,", ",clerk", "clerk,clerk", "Clerk", "clerk, admin"}) {
    EXPECT_FALSE(parse_roles(bad)) << bad;
  }
}

TEST(Names, TenantIdsAndUserNames) {
  EXPECT_TRUE(is_tenant_id("st-marys-2"));
  EXPECT_TRUE(is_tenant_id(std::string(64, 'a')));
  for (auto bad : {std::string(), std::string(65, 'a'), std::string("St-Marys"), std::string("st_marys"),
                   std::string("st marys"), std::string("st/marys")}) {
    EXPECT_FALSE(is_tenant_id(bad)) << bad;
  }
  EXPECT_TRUE(is_username("Dr.J_Smith@ward-3"));
  EXPECT_TRUE(is_username(std::string(64, 'x')));
  for (auto bad : {std::string(), std::string(65, 'x'), std::string("a b"), std::string("a,b"), std::string("a'b"),
                   std::string("é")}) {
    EXPECT_FALSE(is_username(bad)) << bad;
  }
}

TEST(Options, OutOfRangeOptionsAreRefused) {
  TempDir dir;
  auto database = sqlite::Database::open(dir.path() / "db.sqlite3");
  ASSERT_TRUE(database);
  std::shared_ptr<sqlite::Database> shared = std::move(*database);
  auto clock = ManualClock::at_unix(kStart);
  auto options = AuthOptions::for_tests();
  options.opslimit = 0;
  auto store = UserStore::open(shared, clock, options);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, ErrorCode::invalid_argument);
  options = AuthOptions::for_tests();
  options.memlimit = 1024;
  EXPECT_FALSE(UserStore::open(shared, clock, options));
  options = AuthOptions::for_tests();
  options.max_failed_logins = 0;
  EXPECT_FALSE(UserStore::open(shared, clock, options));
  options = AuthOptions::for_tests();
  options.session_idle = 0s;
  EXPECT_FALSE(UserStore::open(shared, clock, options));
  EXPECT_TRUE(UserStore::open(shared, clock, AuthOptions::for_tests()));
}

TEST_F(UserStoreTest, SchemaCreationIsIdempotent) {
  auto lock = database_->lock();
  ASSERT_TRUE(UserStore::create_schema(*database_));
  ASSERT_TRUE(UserStore::create_schema(*database_));
}

TEST_F(UserStoreTest, TenantsAreValidatedListedAndUnique) {
  EXPECT_EQ(store_->create_tenant("Bad Id", "x").error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(store_->create_tenant("ok", "").error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(store_->create_tenant("ok", "line\nbreak").error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(store_->create_tenant("ok", std::string(257, 'n')).error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(store_->create_tenant(kTenant, "Again").error().code, ErrorCode::conflict);

  clock_.advance(10s);
  auto added = store_->create_tenant("city-clinic", "City Clinic");
  ASSERT_TRUE(added) << added.error().to_string();
  EXPECT_EQ(added->created_at, kStart + 10);

  auto found = store_->tenant("city-clinic");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->name, "City Clinic");
  EXPECT_EQ(store_->tenant("nowhere").error().code, ErrorCode::not_found);

  auto all = store_->tenants();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, "city-clinic");
  EXPECT_EQ((*all)[1].id, kTenant);
  EXPECT_EQ((*all)[1].name, "St Mary's Hospital");
}

TEST_F(UserStoreTest, CreatedUsersReadBack) {
  clock_.advance(5s);
  auto bob = store_->create_user(kTenant, "bob@st-marys.example", secret("another long passphrase"),
                                 std::vector<Role>{Role::admin, Role::clinician, Role::admin});
  ASSERT_TRUE(bob) << bob.error().to_string();
  EXPECT_EQ(bob->id.size(), 32u);
  EXPECT_EQ(bob->tenant, kTenant);
  EXPECT_EQ(bob->roles, (std::vector<Role>{Role::clinician, Role::admin}));
  EXPECT_EQ(bob->created_at, kStart + 5);
  EXPECT_EQ(bob->password_changed_at, kStart + 5);
  EXPECT_FALSE(bob->disabled);
  EXPECT_FALSE(bob->locked_until);

  auto read = store_->user(kTenant, "bob@st-marys.example");
  ASSERT_TRUE(read) << read.error().to_string();
  EXPECT_EQ(read->id, bob->id);
  EXPECT_EQ(read->roles, bob->roles);
  EXPECT_TRUE(read->has(Role::admin));
  EXPECT_FALSE(read->has(Role::clerk));
  // User names are compared without regard to case.
  auto upper = store_->user(kTenant, "BOB@St-Marys.example");
  ASSERT_TRUE(upper);
  EXPECT_EQ(upper->username, "bob@st-marys.example");

  auto list = store_->users(kTenant);
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].username, "alice");
  EXPECT_EQ((*list)[1].username, "bob@st-marys.example");
  EXPECT_EQ(store_->users("nowhere").error().code, ErrorCode::not_found);
  EXPECT_EQ(store_->user(kTenant, "carol").error().code, ErrorCode::not_found);
}

TEST_F(UserStoreTest, CreateUserRefusals) {
  const std::vector<Role> clerk{Role::clerk};
  EXPECT_EQ(store_->create_user("nowhere", "bob", secret("long enough password"), clerk).error().code,
            ErrorCode::not_found);
  EXPECT_EQ(store_->create_user(kTenant, "alice", secret("long enough password"), clerk).error().code,
            ErrorCode::conflict);
  EXPECT_EQ(store_->create_user(kTenant, "ALICE", secret("long enough password"), clerk).error().code,
            ErrorCode::conflict);
  EXPECT_EQ(store_->create_user(kTenant, "bob smith", secret("long enough password"), clerk).error().code,
            ErrorCode::invalid_argument);
  EXPECT_EQ(store_->create_user(kTenant, "", secret("long enough password"), clerk).error().code,
            ErrorCode::invalid_argument);
  EXPECT_EQ(store_->create_user(kTenant, "bob", secret("long enough password"), std::vector<Role>{}).error().code,
            ErrorCode::invalid_argument);
  EXPECT_EQ(store_->create_user(kTenant, "bob", secret("short"), clerk).error().code, ErrorCode::password_too_weak);
  // The same name in another tenant is another user.
  ASSERT_TRUE(store_->create_tenant("city-clinic", "City Clinic"));
  auto other = store_->create_user("city-clinic", "alice", secret("long enough password"), clerk);
  ASSERT_TRUE(other) << other.error().to_string();
  EXPECT_NE(other->id, store_->user(kTenant, "alice")->id);
}

TEST_F(UserStoreTest, PasswordRules) {
  const std::vector<Role> clerk{Role::clerk};
  auto weak = store_->create_user(kTenant, "u1", secret("elevenchars"), clerk);
  ASSERT_FALSE(weak);
  EXPECT_EQ(weak.error().code, ErrorCode::password_too_weak);
  EXPECT_EQ(weak.error().detail.find("eleven"), std::string::npos);  // the detail never quotes the password
  EXPECT_TRUE(store_->create_user(kTenant, "u2", secret("twelve chars"), clerk));
  // Characters, not bytes: six two-byte characters are too few, twelve are enough.
  EXPECT_EQ(store_->create_user(kTenant, "u3", secret("éééééé"), clerk).error().code, ErrorCode::password_too_weak);
  EXPECT_TRUE(store_->create_user(kTenant, "u4", secret("éééééééééééé"), clerk));
  // Not the user name, whatever the case.
  EXPECT_EQ(store_->create_user(kTenant, "dr.jane.smith", secret("Dr.Jane.Smith"), clerk).error().code,
            ErrorCode::password_too_weak);
  // At most 1024 bytes.
  EXPECT_EQ(store_->create_user(kTenant, "u5", secret(std::string(1025, 'p')), clerk).error().code,
            ErrorCode::password_too_weak);
  EXPECT_TRUE(store_->create_user(kTenant, "u6", secret(std::string(1024, 'p')), clerk));
  auto login = store_->login(kTenant, "u6", secret(std::string(1024, 'p')));
  EXPECT_TRUE(login) << login.error().to_string();
}

TEST_F(UserStoreTest, LoginGivesATokenThatAuthenticates) {
  clock_.advance(1min);
  auto login = login_alice();
  const std::string& token = login.token.reveal();
  EXPECT_EQ(token.size(), 47u);
  EXPECT_TRUE(token.starts_with("cls_"));
  EXPECT_EQ(login.session.tenant, kTenant);
  EXPECT_EQ(login.session.username, "alice");
  EXPECT_EQ(login.session.user_id, store_->user(kTenant, "alice")->id);
  EXPECT_EQ(login.session.roles, std::vector<Role>{Role::clerk});
  EXPECT_EQ(login.session.created_at, kStart + 60);
  EXPECT_EQ(login.session.expires_at, kStart + 60 + 8 * 3600);
  EXPECT_EQ(login.session.session_id.size(), 16u);
  EXPECT_EQ(token.find(login.session.session_id), std::string::npos);

  auto session = store_->authenticate(token);
  ASSERT_TRUE(session) << session.error().to_string();
  EXPECT_EQ(session->user_id, login.session.user_id);
  EXPECT_EQ(session->session_id, login.session.session_id);
  EXPECT_TRUE(session->has(Role::clerk));
  EXPECT_FALSE(session->has(Role::admin));

  // Every login is a new session with its own token.
  auto second = login_alice();
  EXPECT_NE(second.token.reveal(), token);
  EXPECT_NE(second.session.session_id, login.session.session_id);
}

TEST_F(UserStoreTest, UnknownUserTenantWrongPasswordAndDisabledUserAnswerAlike) {
  ASSERT_TRUE(store_->create_user(kTenant, "dave", secret("dave's long password"), std::vector<Role>{Role::clerk}));
  ASSERT_TRUE(store_->update_user(kTenant, "dave", UserUpdate{.disabled = true}));

  const auto wrong = login_error(kTenant, "alice", "not the password");
  EXPECT_EQ(wrong.code, ErrorCode::invalid_credentials);
  for (const auto& error : {login_error(kTenant, "nobody", kAlicePassword), login_error("nowhere", "alice", kAlicePassword),
                            login_error("Not A Tenant!", "alice", kAlicePassword),
                            login_error(kTenant, "dave", "dave's long password")}) {
    EXPECT_EQ(error.code, wrong.code);
    EXPECT_EQ(error.detail, wrong.detail);
  }
}

TEST_F(UserStoreTest, LockOutAfterMaxFailuresAndReleaseAfterTheLockout) {
  for (int attempt = 1; attempt < 5; ++attempt) {
    EXPECT_EQ(login_error(kTenant, "alice", "wrong password").code, ErrorCode::invalid_credentials) << attempt;
  }
  EXPECT_EQ(store_->user(kTenant, "alice")->failed_logins, 4);
  const auto fifth = login_error(kTenant, "alice", "wrong password");
  EXPECT_EQ(fifth.code, ErrorCode::account_locked);
  EXPECT_EQ(fifth.detail, "the account is locked until 2023-11-14T22:28:20Z");

  // The right password is refused while locked.
  const auto locked = login_error(kTenant, "alice", kAlicePassword);
  EXPECT_EQ(locked.code, ErrorCode::account_locked);
  EXPECT_EQ(locked.detail, fifth.detail);
  auto alice = store_->user(kTenant, "alice");
  EXPECT_TRUE(alice->locked_at(kStart));
  EXPECT_EQ(alice->locked_until, kStart + 15 * 60);

  clock_.advance(15min - 1s);
  EXPECT_EQ(login_error(kTenant, "alice", kAlicePassword).code, ErrorCode::account_locked);
  clock_.advance(1s);
  auto login = store_->login(kTenant, "alice", secret(kAlicePassword));
  ASSERT_TRUE(login) << login.error().to_string();
  alice = store_->user(kTenant, "alice");
  EXPECT_EQ(alice->failed_logins, 0);
  EXPECT_FALSE(alice->locked_until);
}

TEST_F(UserStoreTest, FailuresAfterAnExpiredLockCountAfresh) {
  for (int attempt = 0; attempt < 5; ++attempt) (void)store_->login(kTenant, "alice", secret("wrong password"));
  ASSERT_TRUE(store_->user(kTenant, "alice")->locked_at(kStart));
  clock_.advance(16min);
  EXPECT_EQ(login_error(kTenant, "alice", "wrong password").code, ErrorCode::invalid_credentials);
  EXPECT_EQ(store_->user(kTenant, "alice")->failed_logins, 1);
  EXPECT_TRUE(store_->login(kTenant, "alice", secret(kAlicePassword)));
}

TEST_F(UserStoreTest, ASuccessResetsTheFailureCount) {
  for (int attempt = 0; attempt < 4; ++attempt) (void)store_->login(kTenant, "alice", secret("wrong password"));
  login_alice();
  for (int attempt = 0; attempt < 4; ++attempt) {
    EXPECT_EQ(login_error(kTenant, "alice", "wrong password").code, ErrorCode::invalid_credentials);
  }
  login_alice();
}

TEST_F(UserStoreTest, AnAdminUnlocks) {
  for (int attempt = 0; attempt < 5; ++attempt) (void)store_->login(kTenant, "alice", secret("wrong password"));
  ASSERT_EQ(login_error(kTenant, "alice", kAlicePassword).code, ErrorCode::account_locked);
  auto unlocked = store_->update_user(kTenant, "alice", UserUpdate{.unlock = true});
  ASSERT_TRUE(unlocked) << unlocked.error().to_string();
  EXPECT_FALSE(unlocked->locked_until);
  EXPECT_EQ(unlocked->failed_logins, 0);
  login_alice();
}

TEST_F(UserStoreTest, DisablingEndsSessionsAndRefusesLogins) {
  auto login = login_alice();
  auto disabled = store_->update_user(kTenant, "alice", UserUpdate{.disabled = true});
  ASSERT_TRUE(disabled) << disabled.error().to_string();
  EXPECT_TRUE(disabled->disabled);
  EXPECT_EQ(store_->authenticate(login.token.reveal()).error().code, ErrorCode::session_expired);
  EXPECT_EQ(login_error(kTenant, "alice", kAlicePassword).code, ErrorCode::invalid_credentials);

  ASSERT_TRUE(store_->update_user(kTenant, "alice", UserUpdate{.disabled = false}));
  login_alice();
}

TEST_F(UserStoreTest, UpdateUserRolesApplyToLiveSessions) {
  auto login = login_alice();
  clock_.advance(3s);
  auto updated = store_->update_user(kTenant, "alice", UserUpdate{.roles = std::vector<Role>{Role::admin, Role::clerk}});
  ASSERT_TRUE(updated) << updated.error().to_string();
  EXPECT_EQ(updated->roles, (std::vector<Role>{Role::clerk, Role::admin}));
  EXPECT_EQ(updated->updated_at, kStart + 3);
  auto session = store_->authenticate(login.token.reveal());
  ASSERT_TRUE(session) << session.error().to_string();
  EXPECT_TRUE(session->has(Role::admin));

  EXPECT_EQ(store_->update_user(kTenant, "alice", UserUpdate{.roles = std::vector<Role>{}}).error().code,
            ErrorCode::invalid_argument);
  EXPECT_EQ(store_->update_user(kTenant, "nobody", UserUpdate{.unlock = true}).error().code, ErrorCode::not_found);
}

TEST_F(UserStoreTest, SessionsEndAtTheirAbsoluteLifetime) {
  auto login = login_alice();
  // Used every 20 minutes: never idle, yet over after 8 hours.
  for (int step = 1; step < 24; ++step) {
    clock_.advance(20min);
    auto session = store_->authenticate(login.token.reveal());
    ASSERT_TRUE(session) << step << ": " << session.error().to_string();
    EXPECT_EQ(session->last_seen_at, kStart + step * 20 * 60);
  }
  clock_.advance(20min);  // 8 h after login
  auto expired = store_->authenticate(login.token.reveal());
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().code, ErrorCode::session_expired);
  EXPECT_EQ(expired.error().detail, "the session reached its maximum lifetime");
  // And it is gone.
  EXPECT_EQ(store_->authenticate(login.token.reveal()).error().detail, "no such session");
}

TEST_F(UserStoreTest, SessionsEndAfterIdling) {
  auto login = login_alice();
  clock_.advance(29min);
  ASSERT_TRUE(store_->authenticate(login.token.reveal()));
  clock_.advance(29min);
  ASSERT_TRUE(store_->authenticate(login.token.reveal()));
  clock_.advance(30min);
  auto idle = store_->authenticate(login.token.reveal());
  ASSERT_FALSE(idle);
  EXPECT_EQ(idle.error().code, ErrorCode::session_expired);
  EXPECT_EQ(idle.error().detail, "the session was idle too long");
}

TEST_F(UserStoreTest, LogoutEndsTheSession) {
  auto first = login_alice();
  auto second = login_alice();
  ASSERT_TRUE(store_->logout(first.token.reveal()));
  EXPECT_EQ(store_->authenticate(first.token.reveal()).error().code, ErrorCode::session_expired);
  EXPECT_TRUE(store_->authenticate(second.token.reveal()));
  EXPECT_TRUE(store_->logout(first.token.reveal()));  // idempotent

  // Strings that are not tokens are told apart from ended sessions.
  for (auto bad : {std::string(), std::string("cls_"), std::string("Bearer x"), "xyz_" + first.token.reveal().substr(4),
                   first.token.reveal() + "A", "cls_" + std::string(42, 'A') + "="}) {
    EXPECT_EQ(store_->authenticate(bad).error().code, ErrorCode::unauthenticated) << bad;
    EXPECT_EQ(store_->logout(bad).error().code, ErrorCode::unauthenticated) << bad;
  }
  EXPECT_EQ(store_->authenticate("cls_" + std::string(43, 'A')).error().code, ErrorCode::session_expired);
}

TEST_F(UserStoreTest, DeletingAUserEndsItsSessions) {
  auto login = login_alice();
  ASSERT_TRUE(store_->delete_user(kTenant, "alice"));
  EXPECT_EQ(store_->authenticate(login.token.reveal()).error().code, ErrorCode::session_expired);
  EXPECT_EQ(store_->user(kTenant, "alice").error().code, ErrorCode::not_found);
  EXPECT_EQ(store_->delete_user(kTenant, "alice").error().code, ErrorCode::not_found);
  EXPECT_EQ(login_error(kTenant, "alice", kAlicePassword).code, ErrorCode::invalid_credentials);
  auto count = database_->prepare("SELECT COUNT(*) FROM sessions");
  ASSERT_TRUE(count);
  ASSERT_TRUE(*count->step());
  EXPECT_EQ(count->column_int(0), 0);
}

TEST_F(UserStoreTest, EndSessionsAndPurgeExpired) {
  ASSERT_TRUE(store_->create_user(kTenant, "bob", secret("bob's long password"), std::vector<Role>{Role::clinician}));
  auto a1 = login_alice();
  auto a2 = login_alice();
  auto bob = store_->login(kTenant, "bob", secret("bob's long password"));
  ASSERT_TRUE(bob);
  auto ended = store_->end_sessions(kTenant, "alice");
  ASSERT_TRUE(ended);
  EXPECT_EQ(*ended, 2u);
  EXPECT_EQ(store_->authenticate(a1.token.reveal()).error().code, ErrorCode::session_expired);
  EXPECT_EQ(store_->authenticate(a2.token.reveal()).error().code, ErrorCode::session_expired);
  EXPECT_TRUE(store_->authenticate(bob->token.reveal()));
  EXPECT_EQ(*store_->end_sessions(kTenant, "nobody"), 0u);

  auto a3 = login_alice();
  clock_.advance(20min);
  ASSERT_TRUE(store_->authenticate(bob->token.reveal()));  // bob's stays fresh, alice's idles
  clock_.advance(15min);
  auto purged = store_->purge_expired();
  ASSERT_TRUE(purged);
  EXPECT_EQ(*purged, 1u);
  EXPECT_TRUE(store_->authenticate(bob->token.reveal()));
  EXPECT_EQ(store_->authenticate(a3.token.reveal()).error().detail, "no such session");
  EXPECT_EQ(*store_->purge_expired(), 0u);
}

TEST_F(UserStoreTest, AnAdminResetEndsSessionsAndTheLockOut) {
  auto login = login_alice();
  for (int attempt = 0; attempt < 5; ++attempt) (void)store_->login(kTenant, "alice", secret("wrong password"));
  clock_.advance(1min);
  ASSERT_TRUE(store_->set_password(kTenant, "alice", secret("a brand new passphrase")));
  EXPECT_EQ(store_->authenticate(login.token.reveal()).error().code, ErrorCode::session_expired);
  EXPECT_EQ(login_error(kTenant, "alice", kAlicePassword).code, ErrorCode::invalid_credentials);
  EXPECT_TRUE(store_->login(kTenant, "alice", secret("a brand new passphrase")));
  EXPECT_EQ(store_->user(kTenant, "alice")->password_changed_at, kStart + 60);

  EXPECT_EQ(store_->set_password(kTenant, "alice", secret("short")).error().code, ErrorCode::password_too_weak);
  EXPECT_EQ(store_->set_password(kTenant, "nobody", secret("a brand new passphrase")).error().code,
            ErrorCode::not_found);
}

TEST_F(UserStoreTest, ChangePasswordNeedsTheCurrentOne) {
  auto mine = login_alice();
  auto other = login_alice();
  const std::string next = "my next long passphrase";
  auto wrong = store_->change_password(kTenant, "alice", secret("not the password"), secret(next));
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, ErrorCode::invalid_credentials);
  EXPECT_EQ(store_->user(kTenant, "alice")->failed_logins, 1);  // counts toward the lock-out
  EXPECT_EQ(store_->change_password(kTenant, "alice", secret(kAlicePassword), secret("short")).error().code,
            ErrorCode::password_too_weak);
  EXPECT_EQ(store_->change_password(kTenant, "alice", secret(kAlicePassword), secret(kAlicePassword)).error().code,
            ErrorCode::password_too_weak);
  EXPECT_EQ(store_->change_password(kTenant, "nobody", secret(kAlicePassword), secret(next)).error().code,
            ErrorCode::invalid_credentials);

  auto changed = store_->change_password(kTenant, "alice", secret(kAlicePassword), secret(next), mine.token.reveal());
  ASSERT_TRUE(changed) << changed.error().to_string();
  EXPECT_TRUE(store_->authenticate(mine.token.reveal()));  // the caller's session stays
  EXPECT_EQ(store_->authenticate(other.token.reveal()).error().code, ErrorCode::session_expired);
  EXPECT_EQ(login_error(kTenant, "alice", kAlicePassword).code, ErrorCode::invalid_credentials);
  EXPECT_TRUE(store_->login(kTenant, "alice", secret(next)));
}

TEST_F(UserStoreTest, ChangePasswordIsRefusedWhileLocked) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    (void)store_->change_password(kTenant, "alice", secret("wrong password"), secret("my next long passphrase"));
  }
  EXPECT_EQ(store_->change_password(kTenant, "alice", secret(kAlicePassword), secret("my next long passphrase"))
                .error()
                .code,
            ErrorCode::account_locked);
  EXPECT_EQ(login_error(kTenant, "alice", kAlicePassword).code, ErrorCode::account_locked);
}

TEST_F(UserStoreTest, NeitherPasswordsNorTokensReachTheDisk) {
  const std::string password = "Zq8-unmistakable-passphrase";
  ASSERT_TRUE(store_->create_user(kTenant, "erin", secret(password), std::vector<Role>{Role::clerk}));
  auto login = store_->login(kTenant, "erin", secret(password));
  ASSERT_TRUE(login);
  const std::string token = login->token.reveal();
  ASSERT_TRUE(store_->authenticate(token));
  const std::string next = "Zq8-second-unmistakable-passphrase";
  ASSERT_TRUE(store_->change_password(kTenant, "erin", secret(password), secret(next), token));

  const auto bytes = all_file_bytes(dir_.path());
  // The files do hold erin's data: her argon2id hash, at the minimum cost the tests use.
  EXPECT_NE(bytes.find("erin"), std::string::npos);
  EXPECT_NE(bytes.find("$argon2id$v=19$m=8,t=1,p=1$"), std::string::npos);
  EXPECT_EQ(bytes.find(password), std::string::npos);
  EXPECT_EQ(bytes.find(next), std::string::npos);
  EXPECT_EQ(bytes.find(token), std::string::npos);
  EXPECT_EQ(bytes.find(token.substr(4)), std::string::npos);
  EXPECT_EQ(bytes.find(token.substr(4, 16)), std::string::npos);
}

TEST_F(UserStoreTest, ASecondStoreOnTheSameFileSeesTheSameUsersAndSessions) {
  auto login = login_alice();
  auto database = sqlite::Database::open(path());
  ASSERT_TRUE(database) << database.error().to_string();
  std::shared_ptr<sqlite::Database> shared = std::move(*database);
  auto second = UserStore::open(shared, clock_, AuthOptions::for_tests());
  ASSERT_TRUE(second) << second.error().to_string();
  auto alice = (*second)->user(kTenant, "alice");
  ASSERT_TRUE(alice) << alice.error().to_string();
  EXPECT_EQ(alice->id, store_->user(kTenant, "alice")->id);
  EXPECT_TRUE((*second)->authenticate(login.token.reveal()));
  EXPECT_TRUE((*second)->login(kTenant, "alice", secret(kAlicePassword)));

  // And after the first is closed and reopened.
  open();
  EXPECT_EQ(store_->tenant(kTenant)->name, "St Mary's Hospital");
  EXPECT_TRUE(store_->authenticate(login.token.reveal()));
}

TEST_F(UserStoreTest, AWeakerHashIsRehashedAtLogin) {
  const auto before = stored_hash("alice");
  EXPECT_TRUE(before.starts_with("$argon2id$v=19$m=8,t=1,p=1$")) << before;
  auto options = AuthOptions::for_tests();
  options.opslimit = 2;
  options.memlimit = 16 * 1024;
  open(options);
  login_alice();
  const auto after = stored_hash("alice");
  EXPECT_TRUE(after.starts_with("$argon2id$v=19$m=16,t=2,p=1$")) << after;
  EXPECT_EQ(store_->user(kTenant, "alice")->password_changed_at, kStart);  // same password
  login_alice();
  EXPECT_EQ(stored_hash("alice"), after);  // no rehash when the limits match
}

TEST_F(UserStoreTest, ConcurrentLoginsAndAuthentications) {
  std::vector<std::thread> threads;
  std::atomic<int> failures = 0;
  for (int thread = 0; thread < 4; ++thread) {
    threads.emplace_back([&] {
      for (int round = 0; round < 5; ++round) {
        auto login = store_->login(kTenant, "alice", secret(kAlicePassword));
        if (!login || !store_->authenticate(login->token.reveal())) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  auto count = database_->prepare("SELECT COUNT(*) FROM sessions");
  ASSERT_TRUE(count);
  ASSERT_TRUE(*count->step());
  EXPECT_EQ(count->column_int(0), 20);
}

}  // namespace
}  // namespace cloister::platform

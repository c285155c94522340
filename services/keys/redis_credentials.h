#pragma once
// Attested Redis (docs/redis.md): short-lived Redis ACL users, one per request of an attested caller.
//
//   POST /redis/credentials   (attested caller: mutual TLS + Attestation token, channel-bound)
//       200 {"enc", "ciphertext", "jti", "suite", "info"}: the credentials
//           {"username", "password", "prefix", "expires_at", "host", "port", "server_name", "tls"}
//           sealed with HPKE (the default suite) to the token's attested HPKE key,
//           info "cloister-redis-credentials-v1", aad = the token's jti (UTF-8);
//       403 key_release_denied naming, for each prefix rule, the rule of its policy that failed.
//
// RedisCredentialIssuer holds the Redis admin credential — the only one (docs/redis.md). For a caller
// it takes the first prefix rule (redis.prefixes) whose release policy (release_policy.h) admits the
// caller's token and creates
//
//   ACL SETUSER tee-<16 hex> reset on #<SHA-256 of the password> resetkeys ~<prefix>* resetchannels
//               -@all +get +set +del +unlink +exists +expire +pexpire +ttl +pttl +mget +mset +ping +hello
//
// with a random 32-byte password (base64url), living until min(token exp, now + max_lifetime). The
// user is recorded in <state_dir>/redis-users.jsonl (0600; username, prefix, jti, times — never the
// password) before Redis knows it, so a restart of cloister-keys still removes it. sweep() removes
// expired users — CLIENT KILL USER (open connections drop), then ACL DELUSER (AUTH fails) — at start
// and every sweep_interval from a thread the issuer owns. Passwords are never logged or persisted:
// only Redis holds their SHA-256, and the caller gets them sealed.
//
// Errors: key_release_denied (no rule admits the token), token_expired (the token's exp has passed),
// too_many_requests (max_users users are live), redis_unavailable / redis_auth_failed / redis_error
// (Redis), io_error (the record file), config_invalid (options).

#include "audit_log.h"
#include "release_policy.h"

#include "cloister/attestation/token_verifier.h"
#include "cloister/core/clock.h"
#include "cloister/core/config.h"
#include "cloister/core/sensitive.h"
#include "cloister/http/router.h"
#include "cloister/redis/client.h"
#include "cloister/service/caller_auth.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace prometheus {
class Registry;
template <class T>
class Family;
class Counter;
class Gauge;
}  // namespace prometheus

namespace cloister::keys {

// HPKE info of sealed Redis credentials (docs/redis.md): the recipient opens with the same.
inline constexpr std::string_view kRedisCredentialsInfo = "cloister-redis-credentials-v1";
// The record of issued users, in the keys state directory.
inline constexpr std::string_view kRedisUsersFile = "redis-users.jsonl";
// Every issued user's name starts with this.
inline constexpr std::string_view kRedisUserPrefix = "tee-";

// One rule of redis.prefixes: {"prefix": "platform:", "policy": <release policy document>}.
struct RedisPrefixRule {
  std::string prefix;
  ReleasePolicy policy;
};

// config_invalid unless `document` is a list of rules whose prefixes are 1-64 of [A-Za-z0-9._:-]
// (no glob characters), none a prefix of another (that caller could read the other's keys), with
// valid release policies (the policy_invalid detail is kept).
Result<std::vector<RedisPrefixRule>> parse_redis_prefix_rules(const nlohmann::json& document);

struct RedisIssuerOptions {
  redis::ClientOptions admin;          // the admin connection (its username/password: the admin user)
  std::string host;                    // what callers are told to connect to
  std::uint16_t port = 0;
  std::string server_name;             // the name the server certificate has (empty: host)
  std::vector<RedisPrefixRule> prefixes;
  std::chrono::seconds max_lifetime{3600};
  // 0: no sweeper thread (sweep() is only called explicitly; tests).
  std::chrono::milliseconds sweep_interval{std::chrono::seconds(15)};
  std::size_t max_users = 10000;       // issued users not yet removed
  std::filesystem::path state_dir;     // holds kRedisUsersFile (created 0700)
};

// What a caller gets (sealed): to_json() holds the password in clear — only ever sealed.
struct RedisCredentials {
  std::string username;
  Sensitive<std::string> password;
  std::string prefix;
  std::int64_t expires_at = 0;  // Unix seconds
  std::string host;
  std::uint16_t port = 0;
  std::string server_name;

  nlohmann::json to_json() const;
};

// An issued user as recorded (nothing secret).
struct IssuedRedisUser {
  std::string username;
  std::string prefix;
  std::string jti;  // the token it was issued for
  std::int64_t issued_at = 0;
  std::int64_t expires_at = 0;

  nlohmann::json to_json() const;
  static Result<IssuedRedisUser> from_json(const nlohmann::json& document);
};

// Which prefix rule admitted a token, or why each refused.
struct RedisPrefixDecision {
  const RedisPrefixRule* rule = nullptr;  // null: refused
  std::string clause;                     // the clause of rule's policy that passed
  struct Refusal {
    std::string prefix;
    ReleaseDecision decision;
  };
  std::vector<Refusal> refusals;  // the rules tried before `rule` (all of them when refused)

  // "platform:: prod-sgx: svn min 2; dev:: dev-sim: allow_simulated" ("no prefix rules" when none).
  std::string failed_rules() const;
  // [{"prefix", "failures": [ClauseFailure…]}] of the refusals.
  nlohmann::json failures() const;
};

class RedisCredentialIssuer {
 public:
  // Connects as admin (redis_unavailable / redis_auth_failed at start-up), loads the record, runs a
  // first sweep and starts the sweeper (when sweep_interval > 0). `registry` may be null (no metrics).
  static Result<std::unique_ptr<RedisCredentialIssuer>> create(RedisIssuerOptions options, const Clock& clock,
                                                               prometheus::Registry* registry = nullptr);
  // From the redis.* options (redis_options()); a null issuer when redis.host is empty (the feature is
  // off). The record lives in state_dir.
  static Result<std::unique_ptr<RedisCredentialIssuer>> from_config(const Config& config,
                                                                    const std::filesystem::path& state_dir,
                                                                    const Clock& clock,
                                                                    prometheus::Registry* registry = nullptr);
  // Stops the sweeper (waits for a sweep in progress, which Redis's command timeout bounds).
  ~RedisCredentialIssuer();
  RedisCredentialIssuer(const RedisCredentialIssuer&) = delete;
  RedisCredentialIssuer& operator=(const RedisCredentialIssuer&) = delete;

  // The first rule whose policy admits these token claims.
  RedisPrefixDecision decide(const nlohmann::json& claims) const;

  // A new Redis user for an attested caller (see the file comment). `decision` receives decide()'s
  // result when given.
  Result<RedisCredentials> issue(const attestation::VerifiedToken& caller, RedisPrefixDecision* decision = nullptr);

  // Removes every recorded user whose expires_at <= now; returns how many. A user Redis could not
  // remove stays recorded for the next sweep (the error is returned after the others are done).
  Result<std::size_t> sweep(std::int64_t now);
  // Removes one recorded user now, whatever its expiry (not_found when it is not recorded).
  Status revoke(const std::string& username);

  // The recorded users (issued, not yet removed).
  std::vector<IssuedRedisUser> users() const;
  const RedisIssuerOptions& options() const { return options_; }

 private:
  RedisCredentialIssuer(RedisIssuerOptions options, std::unique_ptr<redis::Client> admin, const Clock& clock,
                        prometheus::Registry* registry);
  Status load();
  // Rewrites the record from users_ (mutex_ held).
  Status rewrite_locked();
  // CLIENT KILL USER + ACL DELUSER for each; the names Redis removed.
  std::vector<std::string> remove_from_redis(const std::vector<std::string>& usernames, Error* last_error);
  void forget(const std::vector<std::string>& usernames);
  void sweeper();
  void count(std::string_view outcome);
  void update_gauge_locked();

  RedisIssuerOptions options_;
  std::unique_ptr<redis::Client> admin_;
  const Clock& clock_;
  std::filesystem::path record_file_;

  mutable std::mutex mutex_;  // users_ and the record file
  std::vector<IssuedRedisUser> users_;
  std::mutex sweep_mutex_;    // one sweep at a time

  std::mutex stop_mutex_;
  std::condition_variable stop_signal_;
  bool stopping_ = false;
  std::thread sweeper_;

  prometheus::Family<prometheus::Counter>* outcomes_ = nullptr;  // cloister_redis_credentials_total
  prometheus::Gauge* users_gauge_ = nullptr;
  prometheus::Counter* removed_ = nullptr;                        // cloister_redis_users_removed_total
};

// cloister-keys' redis.* options (docs/configuration.md); empty redis.host turns the feature off.
std::vector<ConfigOption> redis_options();
// The issuer's options from the redis.* options; nullopt when redis.host is empty. config_invalid
// for a bad value; io_error / config_invalid when the CA or admin password file cannot be read or
// the password file is readable by group or others.
Result<std::optional<RedisIssuerOptions>> redis_issuer_options_from(const Config& config,
                                                                    const std::filesystem::path& state_dir);

// Registers POST /redis/credentials (callers checked by `callers`; both must outlive the router).
// Every issue, refusal and failure is audited in `audit` when given (action "redis_credentials";
// username, prefix and expiry in the detail, never the password); a grant that cannot be audited is
// revoked and answered 500.
void add_redis_routes(http::Router& router, const service::CallerAuth& callers, RedisCredentialIssuer& issuer,
                      AuditLog* audit = nullptr);

}  // namespace cloister::keys

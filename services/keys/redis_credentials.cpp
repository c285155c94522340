#include "redis_credentials.h"

#include "cloister/core/log.h"
#include "cloister/core/private_files.h"
#include "cloister/crypto/base64.h"
#include "cloister/crypto/hash.h"
#include "cloister/crypto/hpke.h"
#include "cloister/crypto/random.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <sstream>

namespace cloister::keys {
namespace {

constexpr std::string_view kSuiteName = "HPKE-Base-X25519-SHA256-AES256GCM";
constexpr std::string_view kAuditAction = "redis_credentials";
constexpr std::size_t kMaxPrefixLength = 64;
constexpr std::size_t kUsernameRandomBytes = 8;  // 16 hex characters
constexpr std::size_t kPasswordBytes = 32;
constexpr std::size_t kMaxRecordBytes = 64 << 20;
constexpr std::size_t kRemoveBatch = 64;  // users per pipeline when sweeping
constexpr std::size_t kMaxErrorText = 200;

// What an issued user may run: a cache's reads and writes, expiry, and the connection handshake.
constexpr std::string_view kAllowedCommands[] = {"+get",    "+set", "+del", "+unlink", "+exists", "+expire", "+pexpire",
                                                 "+ttl",    "+pttl", "+mget", "+mset", "+ping",   "+hello"};

bool valid_prefix(std::string_view prefix) {
  if (prefix.empty() || prefix.size() > kMaxPrefixLength) return false;
  return std::all_of(prefix.begin(), prefix.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == ':' || c == '-';
  });
}

bool valid_username(std::string_view name) {
  if (!name.starts_with(kRedisUserPrefix) || name.size() != kRedisUserPrefix.size() + 2 * kUsernameRandomBytes) {
    return false;
  }
  return std::all_of(name.begin() + static_cast<std::ptrdiff_t>(kRedisUserPrefix.size()), name.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::vector<std::string> setuser_arguments(const std::string& username, const std::string& password_sha256_hex,
                                           const std::string& prefix) {
  // The password goes to Redis as its SHA-256 only (`#<hex>`), so it is in no Redis log, SLOWLOG
  // or MONITOR output, nor in an ACL file should one be saved.
  std::vector<std::string> arguments = {"ACL",       "SETUSER",     username,       "reset",        "on",
                                        "#" + password_sha256_hex, "resetkeys", "~" + prefix + "*", "resetchannels",
                                        "-@all"};
  for (auto command : kAllowedCommands) arguments.emplace_back(command);
  return arguments;
}

std::string shorten(std::string_view text) { return std::string(text.substr(0, kMaxErrorText)); }

Result<std::int64_t> integer_option(const Config& config, const std::string& key, std::int64_t min,
                                    std::int64_t max) {
  const auto& value = config.get(key);
  if (!value.is_number_integer() || value.get<std::int64_t>() < min || value.get<std::int64_t>() > max) {
    return fail(ErrorCode::config_invalid,
                key + " must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
  }
  return value.get<std::int64_t>();
}

bool declares(const Config& config, std::string_view key) {
  return std::any_of(config.options().begin(), config.options().end(),
                     [&](const ConfigOption& option) { return option.key == key; });
}

std::string trim_line_end(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ' || text.back() == '\t')) {
    text.pop_back();
  }
  return text;
}

}  // namespace

// --- prefix rules -----------------------------------------------------------------------------

Result<std::vector<RedisPrefixRule>> parse_redis_prefix_rules(const nlohmann::json& document) {
  if (!document.is_array()) return fail(ErrorCode::config_invalid, "redis.prefixes must be a list of {prefix, policy}");
  std::vector<RedisPrefixRule> rules;
  for (std::size_t i = 0; i < document.size(); ++i) {
    const auto& item = document[i];
    const std::string where = "redis.prefixes[" + std::to_string(i) + "]";
    if (!item.is_object()) return fail(ErrorCode::config_invalid, where + " must be an object {prefix, policy}");
    for (const auto& [member, value] : item.items()) {
      if (member != "prefix" && member != "policy") {
        return fail(ErrorCode::config_invalid, where + ": unknown member " + member.substr(0, 32));
      }
    }
    if (!item.contains("prefix") || !item["prefix"].is_string() || !valid_prefix(item["prefix"].get<std::string>())) {
      return fail(ErrorCode::config_invalid,
                  where + ".prefix must be 1-64 of A-Z a-z 0-9 . _ : - (no glob characters), e.g. \"platform:\"");
    }
    if (!item.contains("policy")) return fail(ErrorCode::config_invalid, where + ".policy is required");
    auto policy = ReleasePolicy::from_json(item["policy"]);
    if (!policy) return fail(ErrorCode::config_invalid, where + ".policy: " + policy.error().detail);
    rules.push_back({item["prefix"].get<std::string>(), std::move(*policy)});
  }
  for (std::size_t i = 0; i < rules.size(); ++i) {
    for (std::size_t j = 0; j < rules.size(); ++j) {
      if (i != j && rules[j].prefix.starts_with(rules[i].prefix)) {
        return fail(ErrorCode::config_invalid,
                    "redis.prefixes: \"" + rules[i].prefix + "\" is a prefix of \"" + rules[j].prefix +
                        "\", so its callers could read the other's keys (one rule per prefix; use any_of in its policy)");
      }
    }
  }
  return rules;
}

std::string RedisPrefixDecision::failed_rules() const {
  if (refusals.empty()) return "no prefix rules";
  std::string text;
  for (const auto& refusal : refusals) {
    if (!text.empty()) text += "; ";
    text += "[" + refusal.prefix + "] " + refusal.decision.failed_rule();
  }
  return text;
}

nlohmann::json RedisPrefixDecision::failures() const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& refusal : refusals) {
    nlohmann::json clauses = nlohmann::json::array();
    for (const auto& failure : refusal.decision.failures) clauses.push_back(failure.to_json());
    list.push_back({{"prefix", refusal.prefix}, {"failures", std::move(clauses)}});
  }
  return list;
}

// --- records ----------------------------------------------------------------------------------

nlohmann::json RedisCredentials::to_json() const {
  return {{"username", username},   {"password", password.reveal()}, {"prefix", prefix},
          {"expires_at", expires_at}, {"host", host},                 {"port", port},
          {"server_name", server_name}, {"tls", true}};
}

nlohmann::json IssuedRedisUser::to_json() const {
  return {{"username", username}, {"prefix", prefix}, {"jti", jti}, {"issued_at", issued_at}, {"expires_at", expires_at}};
}

Result<IssuedRedisUser> IssuedRedisUser::from_json(const nlohmann::json& document) {
  if (!document.is_object()) return fail(ErrorCode::invalid_json, "a record must be an object");
  IssuedRedisUser user;
  const auto string_member = [&](const char* name, std::string& out) {
    if (!document.contains(name) || !document[name].is_string()) return false;
    out = document[name].get<std::string>();
    return true;
  };
  const auto integer_member = [&](const char* name, std::int64_t& out) {
    if (!document.contains(name) || !document[name].is_number_integer()) return false;
    out = document[name].get<std::int64_t>();
    return true;
  };
  if (!string_member("username", user.username) || !valid_username(user.username)) {
    return fail(ErrorCode::invalid_json, "username is missing or malformed");
  }
  if (!string_member("prefix", user.prefix) || !valid_prefix(user.prefix)) {
    return fail(ErrorCode::invalid_json, "prefix is missing or malformed");
  }
  if (!string_member("jti", user.jti)) return fail(ErrorCode::invalid_json, "jti is missing");
  if (!integer_member("issued_at", user.issued_at) || !integer_member("expires_at", user.expires_at)) {
    return fail(ErrorCode::invalid_json, "issued_at and expires_at must be integers");
  }
  return user;
}

// --- the issuer -------------------------------------------------------------------------------

Result<std::unique_ptr<RedisCredentialIssuer>> RedisCredentialIssuer::create(RedisIssuerOptions options,
                                                                             const Clock& clock,
                                                                             prometheus::Registry* registry) {
  if (options.state_dir.empty()) return fail(ErrorCode::config_invalid, "the Redis issuer needs a state directory");
  if (options.host.empty() || options.port == 0) {
    return fail(ErrorCode::config_invalid, "redis.host and redis.port are required");
  }
  if (options.max_lifetime.count() <= 0) return fail(ErrorCode::config_invalid, "redis.max_lifetime_seconds must be > 0");
  if (options.max_users == 0) return fail(ErrorCode::config_invalid, "redis.max_users must be > 0");
  if (options.sweep_interval.count() < 0) return fail(ErrorCode::config_invalid, "the sweep interval must be >= 0");
  if (options.admin.username.empty()) return fail(ErrorCode::config_invalid, "redis.admin_username is required");
  if (auto ready = ensure_private_directory(options.state_dir); !ready) return std::unexpected(ready.error());
  auto admin = redis::Client::create(options.admin);
  if (!admin) return std::unexpected(admin.error());

  std::unique_ptr<RedisCredentialIssuer> issuer(
      new RedisCredentialIssuer(std::move(options), std::move(*admin), clock, registry));
  if (auto loaded = issuer->load(); !loaded) return std::unexpected(loaded.error());
  if (auto swept = issuer->sweep(clock.unix_seconds()); !swept) return std::unexpected(swept.error());
  if (issuer->options_.prefixes.empty()) {
    log::warn("redis.prefixes is empty: every request for Redis credentials is refused");
  }
  if (issuer->options_.sweep_interval.count() > 0) issuer->sweeper_ = std::thread([raw = issuer.get()] { raw->sweeper(); });
  log::info("Redis credential issuer ready", {{"host", issuer->options_.host},
                                              {"port", issuer->options_.port},
                                              {"prefixes", issuer->options_.prefixes.size()},
                                              {"recorded_users", issuer->users().size()}});
  return issuer;
}

Result<std::unique_ptr<RedisCredentialIssuer>> RedisCredentialIssuer::from_config(const Config& config,
                                                                                  const std::filesystem::path& state_dir,
                                                                                  const Clock& clock,
                                                                                  prometheus::Registry* registry) {
  auto options = redis_issuer_options_from(config, state_dir);
  if (!options) return std::unexpected(options.error());
  if (!*options) return std::unique_ptr<RedisCredentialIssuer>();
  return create(std::move(**options), clock, registry);
}

RedisCredentialIssuer::RedisCredentialIssuer(RedisIssuerOptions options, std::unique_ptr<redis::Client> admin,
                                             const Clock& clock, prometheus::Registry* registry)
    : options_(std::move(options)),
      admin_(std::move(admin)),
      clock_(clock),
      record_file_(options_.state_dir / std::string(kRedisUsersFile)) {
  if (registry != nullptr) {
    outcomes_ = &prometheus::BuildCounter()
                     .Name("cloister_redis_credentials_total")
                     .Help("Redis credential requests, by outcome (ok, or the error code of the refusal)")
                     .Register(*registry);
    users_gauge_ = &prometheus::BuildGauge()
                        .Name("cloister_redis_users")
                        .Help("Issued Redis ACL users not yet removed")
                        .Register(*registry)
                        .Add({});
    removed_ = &prometheus::BuildCounter()
                    .Name("cloister_redis_users_removed_total")
                    .Help("Issued Redis ACL users removed (expired or revoked)")
                    .Register(*registry)
                    .Add({});
  }
}

RedisCredentialIssuer::~RedisCredentialIssuer() {
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
  }
  stop_signal_.notify_all();
  if (sweeper_.joinable()) sweeper_.join();
}

void RedisCredentialIssuer::count(std::string_view outcome) {
  if (outcomes_ != nullptr) outcomes_->Add({{"outcome", std::string(outcome)}}).Increment();
}

void RedisCredentialIssuer::update_gauge_locked() {
  if (users_gauge_ != nullptr) users_gauge_->Set(static_cast<double>(users_.size()));
}

Status RedisCredentialIssuer::load() {
  std::lock_guard lock(mutex_);
  users_.clear();
  std::error_code error;
  if (std::filesystem::exists(record_file_, error)) {
    if (auto mode = check_private_mode(record_file_); !mode) return mode;
    auto text = read_file(record_file_, kMaxRecordBytes);
    if (!text) return std::unexpected(text.error());
    std::istringstream lines(*text);
    std::string line;
    std::size_t number = 0;
    while (std::getline(lines, line)) {
      ++number;
      if (line.empty()) continue;
      auto user = IssuedRedisUser::from_json(nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false));
      if (!user) {
        // A line cut short by a crash: its user was never created (the record comes first).
        log::warn("skipping a malformed Redis user record",
                  {{"file", record_file_.string()}, {"line", number}, {"detail", user.error().detail}});
        continue;
      }
      const bool duplicate = std::any_of(users_.begin(), users_.end(),
                                         [&](const IssuedRedisUser& other) { return other.username == user->username; });
      if (!duplicate) users_.push_back(std::move(*user));
    }
  }
  update_gauge_locked();
  return rewrite_locked();
}

Status RedisCredentialIssuer::rewrite_locked() {
  std::string content;
  for (const auto& user : users_) content += user.to_json().dump() + "\n";
  return write_private_file(record_file_, content);
}

RedisPrefixDecision RedisCredentialIssuer::decide(const nlohmann::json& claims) const {
  RedisPrefixDecision decision;
  for (const auto& rule : options_.prefixes) {
    auto evaluated = rule.policy.evaluate(claims);
    if (evaluated.allowed) {
      decision.rule = &rule;
      decision.clause = evaluated.clause;
      return decision;
    }
    decision.refusals.push_back({rule.prefix, std::move(evaluated)});
  }
  return decision;
}

Result<RedisCredentials> RedisCredentialIssuer::issue(const attestation::VerifiedToken& caller,
                                                      RedisPrefixDecision* decision) {
  auto decided = decide(caller.claims);
  if (decision != nullptr) *decision = decided;
  if (decided.rule == nullptr) {
    std::string detail;
    for (const auto& refusal : decided.refusals) {
      for (const auto& failure : refusal.decision.failures) {
        if (!detail.empty()) detail += "; ";
        detail += "[" + refusal.prefix + "] " + failure.clause + ": " + failure.detail;
      }
    }
    count(error_name(ErrorCode::key_release_denied));
    return fail(ErrorCode::key_release_denied,
                "no Redis prefix rule admits the token" + (detail.empty() ? std::string(" (no prefix rules)") : ": " + detail));
  }
  const auto now = clock_.unix_seconds();
  const auto expires_at = std::min(caller.expires_at, now + static_cast<std::int64_t>(options_.max_lifetime.count()));
  if (expires_at <= now) {
    count(error_name(ErrorCode::token_expired));
    return fail(ErrorCode::token_expired, "the token has expired");
  }

  IssuedRedisUser user{std::string(kRedisUserPrefix) + crypto::random_hex(kUsernameRandomBytes), decided.rule->prefix,
                       caller.jti, now, expires_at};
  Sensitive<std::string> password(crypto::base64url_encode(crypto::random_bytes(kPasswordBytes)));
  {
    // Recorded before Redis knows the user: whatever happens next, a sweep will remove it.
    std::lock_guard lock(mutex_);
    if (users_.size() >= options_.max_users) {
      count(error_name(ErrorCode::too_many_requests));
      return fail(ErrorCode::too_many_requests,
                  "too many live Redis users (" + std::to_string(users_.size()) + "); retry later");
    }
    if (auto appended = append_private_line(record_file_, user.to_json().dump()); !appended) {
      count(error_name(appended.error().code));
      return std::unexpected(appended.error());
    }
    users_.push_back(user);
    update_gauge_locked();
  }

  const auto hash = crypto::hex_encode(crypto::sha256(crypto::as_bytes(password.reveal())));
  auto reply = admin_->command(setuser_arguments(user.username, hash, user.prefix));
  if (!reply || !reply->is_ok()) {
    Error error = reply ? Error{ErrorCode::redis_error, "ACL SETUSER answered " + shorten(reply->string)} : reply.error();
    // The user may exist all the same (a reply lost with the connection): forget it only once removed.
    Error ignored;
    forget(remove_from_redis({user.username}, &ignored));
    count(error.name());
    log::error("Redis user not created", {{"username", user.username}, {"code", error.name()}, {"detail", error.detail}});
    return std::unexpected(std::move(error));
  }
  count("ok");
  log::info("Redis user created", {{"username", user.username},
                                   {"prefix", user.prefix},
                                   {"expires_at", user.expires_at},
                                   {"jti", user.jti},
                                   {"tee", caller.tee}});
  return RedisCredentials{user.username, std::move(password), user.prefix, user.expires_at,
                          options_.host, options_.port,       options_.server_name.empty() ? options_.host : options_.server_name};
}

std::vector<std::string> RedisCredentialIssuer::remove_from_redis(const std::vector<std::string>& usernames,
                                                                  Error* last_error) {
  std::vector<std::string> removed;
  for (std::size_t start = 0; start < usernames.size(); start += kRemoveBatch) {
    const auto end = std::min(usernames.size(), start + kRemoveBatch);
    std::vector<std::vector<std::string>> commands;
    for (auto i = start; i < end; ++i) {
      // Its open connections first, then the user (DELUSER also drops connections that
      // authenticated in between). Both are harmless to repeat.
      commands.push_back({"CLIENT", "KILL", "USER", usernames[i]});
      commands.push_back({"ACL", "DELUSER", usernames[i]});
    }
    auto replies = admin_->pipeline(commands);
    if (!replies) {
      *last_error = replies.error();
      return removed;
    }
    for (auto i = start; i < end; ++i) {
      const auto& kill = (*replies)[2 * (i - start)];
      const auto& deleted = (*replies)[2 * (i - start) + 1];
      // "No such user": Redis no longer has it (e.g. it restarted), which is what we want.
      const bool killed = kill.type == redis::Reply::Type::integer ||
                          (kill.type == redis::Reply::Type::error && kill.string.find("No such user") != std::string::npos);
      if (killed && deleted.type == redis::Reply::Type::integer) {
        removed.push_back(usernames[i]);
      } else {
        const auto& bad = kill.type == redis::Reply::Type::error ? kill : deleted;
        *last_error = Error{ErrorCode::redis_error, "removing " + usernames[i] + ": " + shorten(bad.string)};
      }
    }
  }
  return removed;
}

void RedisCredentialIssuer::forget(const std::vector<std::string>& usernames) {
  if (usernames.empty()) return;
  std::lock_guard lock(mutex_);
  std::erase_if(users_, [&](const IssuedRedisUser& user) {
    return std::find(usernames.begin(), usernames.end(), user.username) != usernames.end();
  });
  update_gauge_locked();
  if (auto written = rewrite_locked(); !written) {
    // The next rewrite catches up; until then a restart would only retry removing these users.
    log::error("Redis user record not rewritten", {{"code", written.error().name()}, {"detail", written.error().detail}});
  }
}

Result<std::size_t> RedisCredentialIssuer::sweep(std::int64_t now) {
  std::lock_guard one_at_a_time(sweep_mutex_);
  std::vector<std::string> expired;
  {
    std::lock_guard lock(mutex_);
    for (const auto& user : users_) {
      if (user.expires_at <= now) expired.push_back(user.username);
    }
  }
  if (expired.empty()) return 0;
  Error last{ErrorCode::redis_error, "not every expired user could be removed"};
  auto removed = remove_from_redis(expired, &last);
  forget(removed);
  if (removed_ != nullptr) removed_->Increment(static_cast<double>(removed.size()));
  if (!removed.empty()) log::info("expired Redis users removed", {{"count", removed.size()}, {"users", removed}});
  if (removed.size() < expired.size()) {
    log::warn("expired Redis users not removed yet",
              {{"count", expired.size() - removed.size()}, {"code", last.name()}, {"detail", last.detail}});
    return std::unexpected(std::move(last));
  }
  return removed.size();
}

Status RedisCredentialIssuer::revoke(const std::string& username) {
  {
    std::lock_guard lock(mutex_);
    const bool recorded = std::any_of(users_.begin(), users_.end(),
                                      [&](const IssuedRedisUser& user) { return user.username == username; });
    if (!recorded) return fail(ErrorCode::not_found, "no such issued Redis user");
  }
  Error last{ErrorCode::redis_error, "the user could not be removed"};
  auto removed = remove_from_redis({username}, &last);
  if (removed.empty()) return std::unexpected(std::move(last));
  forget(removed);
  if (removed_ != nullptr) removed_->Increment();
  log::info("Redis user revoked", {{"username", username}});
  return {};
}

std::vector<IssuedRedisUser> RedisCredentialIssuer::users() const {
  std::lock_guard lock(mutex_);
  return users_;
}

void RedisCredentialIssuer::sweeper() {
  std::unique_lock lock(stop_mutex_);
  while (!stop_signal_.wait_for(lock, options_.sweep_interval, [this] { return stopping_; })) {
    lock.unlock();
    try {
      auto swept = sweep(clock_.unix_seconds());
      if (!swept) {
        log::warn("Redis user sweep failed; retrying at the next interval",
                  {{"code", swept.error().name()}, {"detail", swept.error().detail}});
      }
    } catch (const std::exception& error) {
      log::error("Redis user sweep threw", {{"detail", error.what()}});
    }
    lock.lock();
  }
}

// --- configuration ----------------------------------------------------------------------------

std::vector<ConfigOption> redis_options() {
  return {
      {"redis.host", "",
       "Redis server for attested cache credentials (TLS only; docs/redis.md); empty: off (no POST /redis/credentials)"},
      {"redis.port", 6379, "Redis TLS port"},
      {"redis.server_name", "", "Name the Redis server certificate must match; empty: redis.host"},
      {"redis.ca_file", "", "PEM CA bundle that issued the Redis server certificate; empty: tls.ca_file"},
      {"redis.admin_username", "cloister-keys",
       "Redis ACL user cloister-keys creates and removes caller users as (the only Redis admin credential)"},
      {"redis.admin_password_file", "", "File (mode 0600) holding the Redis admin user's password"},
      {"redis.prefixes", nlohmann::json::array(),
       "Key-prefix rules [{prefix, policy}]: a caller gets the prefix of the first rule whose release policy its "
       "token satisfies (policy format as keys; docs/redis.md); none: every request is refused"},
      {"redis.max_lifetime_seconds", 3600, "Longest life of an issued Redis user (never beyond the caller token's exp)"},
      {"redis.sweep_interval_seconds", 15, "How often expired Redis users are removed (CLIENT KILL USER, ACL DELUSER)"},
      {"redis.max_users", 10000, "Issued Redis users alive at once; more requests are answered 429"},
  };
}

Result<std::optional<RedisIssuerOptions>> redis_issuer_options_from(const Config& config,
                                                                    const std::filesystem::path& state_dir) {
  RedisIssuerOptions options;
  options.host = config.get_string("redis.host");
  if (options.host.empty()) return std::optional<RedisIssuerOptions>();
  auto port = integer_option(config, "redis.port", 1, 65535);
  if (!port) return std::unexpected(port.error());
  options.port = static_cast<std::uint16_t>(*port);
  options.server_name = config.get_string("redis.server_name");
  auto lifetime = integer_option(config, "redis.max_lifetime_seconds", 1, 7 * 86400);
  if (!lifetime) return std::unexpected(lifetime.error());
  options.max_lifetime = std::chrono::seconds(*lifetime);
  auto interval = integer_option(config, "redis.sweep_interval_seconds", 1, 3600);
  if (!interval) return std::unexpected(interval.error());
  options.sweep_interval = std::chrono::seconds(*interval);
  auto max_users = integer_option(config, "redis.max_users", 1, 1'000'000);
  if (!max_users) return std::unexpected(max_users.error());
  options.max_users = static_cast<std::size_t>(*max_users);
  auto prefixes = parse_redis_prefix_rules(config.get("redis.prefixes"));
  if (!prefixes) return std::unexpected(prefixes.error());
  options.prefixes = std::move(*prefixes);
  options.state_dir = state_dir;

  auto ca_file = config.get_string("redis.ca_file");
  if (ca_file.empty() && declares(config, "tls.ca_file")) ca_file = config.get_string("tls.ca_file");
  if (ca_file.empty()) return fail(ErrorCode::config_invalid, "redis.ca_file (or tls.ca_file) is required: Redis is TLS only");
  auto ca_pem = read_file(ca_file, 1 << 20);
  if (!ca_pem) return std::unexpected(ca_pem.error());

  options.admin.host = options.host;
  options.admin.port = options.port;
  options.admin.tls = true;
  options.admin.ca_pem = std::move(*ca_pem);
  options.admin.server_name = options.server_name;
  options.admin.username = config.get_string("redis.admin_username");
  if (options.admin.username.empty()) return fail(ErrorCode::config_invalid, "redis.admin_username is required");
  const auto password_file = config.get_string("redis.admin_password_file");
  if (password_file.empty()) return fail(ErrorCode::config_invalid, "redis.admin_password_file is required");
  if (auto mode = check_private_mode(password_file); !mode) return std::unexpected(mode.error());
  auto password = read_file(password_file, 4096);
  if (!password) return std::unexpected(password.error());
  options.admin.password = Sensitive<std::string>(trim_line_end(std::move(*password)));
  if (options.admin.password.reveal().empty()) {
    return fail(ErrorCode::config_invalid, "redis.admin_password_file is empty");
  }
  options.admin.pool_size = 2;
  return std::optional<RedisIssuerOptions>(std::move(options));
}

// --- the route --------------------------------------------------------------------------------

namespace {

AuditEntry caller_entry(const http::Request& request, const attestation::VerifiedToken& caller) {
  AuditEntry entry;
  entry.actor_type = actor_type::kAttested;
  entry.actor = caller.jti;
  entry.tee = caller.tee;
  entry.measurement = caller.claims.value("measurement", std::string());
  entry.client = request.remote_address;
  entry.action = std::string(kAuditAction);
  entry.request_id = request.request_id;
  return entry;
}

// Best effort for refusals (the refusal stands either way).
void audit_refusal(AuditLog* audit, AuditEntry entry, const Error& error, std::string_view outcome) {
  if (audit == nullptr) return;
  entry.outcome = std::string(outcome);
  entry.code = std::string(error.name());
  if (entry.detail.empty()) entry.detail = error.detail;
  if (auto appended = audit->append(std::move(entry)); !appended) {
    log::error("audit entry not written", {{"code", appended.error().name()}, {"detail", appended.error().detail}});
  }
}

Result<http::Response> credentials_for(const http::Request& request, const attestation::VerifiedToken& caller,
                                       RedisCredentialIssuer& issuer, AuditLog* audit) {
  auto entry = caller_entry(request, caller);
  RedisPrefixDecision decision;
  auto credentials = issuer.issue(caller, &decision);
  if (!credentials) {
    const auto& error = credentials.error();
    if (error.code != ErrorCode::key_release_denied) {
      audit_refusal(audit, entry, error, audit_outcome::kError);
      return std::unexpected(error);
    }
    const auto rule = decision.failed_rules();
    entry.rule = rule;
    audit_refusal(audit, entry, error, audit_outcome::kDenied);
    log::warn("Redis credentials denied",
              {{"request_id", request.request_id}, {"jti", caller.jti}, {"rule", rule}, {"detail", error.detail}});
    auto response = http::problem_response(error, request.request_id, request.path);
    auto problem = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
    if (problem.is_object()) {
      problem["rule"] = rule;
      problem["failures"] = decision.failures();
      response.body = problem.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    return response;
  }

  auto plaintext = credentials->to_json().dump();
  auto sealed = crypto::hpke::seal(crypto::hpke::kDefaultSuite, caller.hpke_public_key,
                                   crypto::as_bytes(kRedisCredentialsInfo), crypto::as_bytes(caller.jti),
                                   crypto::as_bytes(plaintext));
  std::fill(plaintext.begin(), plaintext.end(), '\0');
  auto withdraw = [&](Error error) -> Result<http::Response> {
    if (auto revoked = issuer.revoke(credentials->username); !revoked) {
      log::error("withdrawn Redis user not removed (the sweeper removes it at expiry)",
                 {{"username", credentials->username}, {"code", revoked.error().name()}});
    }
    audit_refusal(audit, entry, error, audit_outcome::kError);
    return std::unexpected(std::move(error));
  };
  if (!sealed) return withdraw(Error{ErrorCode::internal, "sealing to the caller's HPKE key failed"});

  // Audited before the credentials leave: a grant that cannot be audited does not happen.
  entry.outcome = std::string(audit_outcome::kOk);
  entry.detail = "user " + credentials->username + ", prefix " + credentials->prefix + " (clause " + decision.clause +
                 "), expires_at " + std::to_string(credentials->expires_at);
  if (audit != nullptr) {
    if (auto appended = audit->append(entry); !appended) {
      log::error("audit entry not written: Redis credentials withdrawn",
                 {{"code", appended.error().name()}, {"detail", appended.error().detail}});
      if (auto revoked = issuer.revoke(credentials->username); !revoked) {
        log::error("withdrawn Redis user not removed (the sweeper removes it at expiry)",
                   {{"username", credentials->username}, {"code", revoked.error().name()}});
      }
      return fail(ErrorCode::internal, "the grant could not be audited");
    }
  }
  nlohmann::json body = {{"suite", kSuiteName},
                         {"info", kRedisCredentialsInfo},
                         {"enc", crypto::base64url_encode(sealed->enc)},
                         {"ciphertext", crypto::base64url_encode(sealed->ciphertext)},
                         {"jti", caller.jti}};
  auto response = http::json_response(200, body);
  response.set_header("Cache-Control", "no-store");
  return response;
}

}  // namespace

void add_redis_routes(http::Router& router, const service::CallerAuth& callers, RedisCredentialIssuer& issuer,
                      AuditLog* audit) {
  router.add(
      "POST", "/redis/credentials",
      [&callers, &issuer, audit](const http::Request& request) -> Result<http::Response> {
        // CallerAuth::require checks the token and the channel binding; a caller it refuses never
        // reaches credentials_for, and is audited here.
        bool reached = false;
        auto guarded = callers.require([&](const http::Request& inner, const attestation::VerifiedToken& caller) {
          reached = true;
          return credentials_for(inner, caller, issuer, audit);
        });
        auto result = guarded(request);
        if (!reached) {
          AuditEntry entry;
          entry.actor_type = actor_type::kUnauthenticated;
          entry.client = request.remote_address;
          entry.action = std::string(kAuditAction);
          entry.request_id = request.request_id;
          audit_refusal(audit, std::move(entry), result ? Error{ErrorCode::internal, "refused"} : result.error(),
                        audit_outcome::kRefused);
        }
        return result;
      },
      "Attested caller (mutual TLS + Attestation token): a short-lived Redis ACL user restricted to the key prefix of "
      "the first redis.prefixes rule the token satisfies, sealed with HPKE to the caller's attested key");
}

}  // namespace cloister::keys

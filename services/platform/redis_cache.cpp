#include "redis_cache.h"

#include "cloister/core/log.h"
#include "cloister/redis/client.h"
#include "cloister/redis/encrypted_cache.h"
#include "cloister/service/key_release.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

namespace cloister::platform {

struct RedisLookupCache::Connection {
  std::unique_ptr<redis::Client> client;
  std::unique_ptr<redis::EncryptedCache> cache;
  std::int64_t expires_at = 0;
};

namespace {
constexpr std::string_view kPurpose = "platform-lookup";
constexpr std::int64_t kRenewBeforeSeconds = 60;
}  // namespace

RedisLookupCache::RedisLookupCache(const service::AttestedIdentity& identity, const Sensitive<crypto::Bytes>& cache_key,
                                   RedisCacheOptions options, prometheus::Registry& registry)
    : identity_(identity), cache_key_(cache_key), options_(std::move(options)) {
  results_ = &prometheus::BuildCounter()
                  .Name("cloister_platform_cache_total")
                  .Help("Lookups in the Redis cache by result: hit, miss, error (Redis failed), bypass (Redis down)")
                  .Register(registry);
}

RedisLookupCache::~RedisLookupCache() { crypto::cleanse(cache_key_.reveal()); }

void RedisLookupCache::count(const char* result) { results_->Add({{"result", result}}).Increment(); }

std::shared_ptr<RedisLookupCache::Connection> RedisLookupCache::connection() {
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  const auto unix_now = SystemClock::instance().unix_seconds();
  if (connection_ && connection_->expires_at - kRenewBeforeSeconds > unix_now) return connection_;
  if (now < down_until_) return nullptr;
  // New (or renewed) credentials from cloister-keys.
  auto access = service::request_redis_credentials(identity_, options_.keys_url);
  if (!access) {
    log::warn("Redis credentials not issued; serving without the cache", {{"code", access.error().name()}});
    down_until_ = now + options_.retry_after;
    connection_.reset();
    return nullptr;
  }
  redis::ClientOptions client_options;
  client_options.host = access->host;
  client_options.port = access->port;
  client_options.ca_pem = options_.ca_pem;
  client_options.server_name = access->server_name;
  client_options.username = access->username;
  client_options.password = std::move(access->password);
  client_options.connect_timeout = options_.timeout;
  client_options.command_timeout = options_.timeout;
  client_options.max_retries = 0;
  auto client = redis::Client::create(std::move(client_options));
  if (!client) {
    log::warn("Redis unreachable; serving without the cache", {{"code", client.error().name()}});
    down_until_ = now + options_.retry_after;
    connection_.reset();
    return nullptr;
  }
  auto fresh = std::make_shared<Connection>();
  fresh->client = std::move(*client);
  fresh->cache = std::make_unique<redis::EncryptedCache>(*fresh->client, cache_key_, access->prefix);
  fresh->expires_at = access->expires_at;
  connection_ = fresh;
  log::info("Redis cache connected", {{"prefix", access->prefix}, {"expires_at", access->expires_at}});
  return fresh;
}

void RedisLookupCache::failed(const std::shared_ptr<Connection>& connection, const Error& error) {
  std::lock_guard lock(mutex_);
  if (connection_ == connection) {
    log::warn("Redis failed; serving without the cache for a while", {{"code", error.name()}});
    connection_.reset();
    down_until_ = std::chrono::steady_clock::now() + options_.retry_after;
  }
}

std::optional<std::string> RedisLookupCache::get(const std::string& name) {
  auto current = connection();
  if (!current) {
    count("bypass");
    return std::nullopt;
  }
  auto value = current->cache->get(name, kPurpose);
  if (!value) {
    count("error");
    failed(current, value.error());
    return std::nullopt;
  }
  if (!*value) {
    count("miss");
    return std::nullopt;
  }
  count("hit");
  std::string out((*value)->begin(), (*value)->end());
  crypto::cleanse(**value);
  return out;
}

void RedisLookupCache::put(const std::string& name, const std::string& value) {
  auto current = connection();
  if (!current) return;
  auto status = current->cache->put(name, kPurpose, crypto::as_bytes(value), options_.ttl);
  if (!status) failed(current, status.error());
}

void RedisLookupCache::remove(const std::string& name) {
  auto current = connection();
  if (!current) return;
  auto status = current->cache->remove(name);
  if (!status) failed(current, status.error());
}

}  // namespace cloister::platform

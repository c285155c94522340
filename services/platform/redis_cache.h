#pragma once
// RedisLookupCache: the platform's cache of sealed lookups in Redis (docs/platform.md, "Cache").
// Redis credentials come from cloister-keys (attested, short-lived ACL user limited to the platform's
// key prefix; renewed before they expire); values are sealed with redis::EncryptedCache under the
// cache subkey of the platform's data key, so Redis (and anyone reading its memory, dumps or
// replication stream) holds ciphertext only.
//
// The cache is never required: a failed connection or command is a miss, and Redis is left alone for
// `retry_after` before the next try (one slow timeout per interval, not one per request), so the
// platform keeps serving from SQLite while Redis is down.

#include "platform_api.h"

#include "cloister/core/sensitive.h"
#include "cloister/crypto/bytes.h"
#include "cloister/service/attested_identity.h"

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

namespace prometheus {
class Registry;
template <class T>
class Family;
class Counter;
}  // namespace prometheus

namespace cloister::redis {
class Client;
class EncryptedCache;
}  // namespace cloister::redis

namespace cloister::platform {

struct RedisCacheOptions {
  std::string keys_url;
  std::string ca_pem;  // trust for the Redis server certificate
  std::chrono::seconds ttl{300};
  std::chrono::milliseconds timeout{250};       // connect and command
  std::chrono::milliseconds retry_after{5000};  // after a failure
};

class RedisLookupCache final : public LookupCache {
 public:
  RedisLookupCache(const service::AttestedIdentity& identity, const Sensitive<crypto::Bytes>& cache_key,
                   RedisCacheOptions options, prometheus::Registry& registry);
  ~RedisLookupCache() override;

  std::optional<std::string> get(const std::string& name) override;
  void put(const std::string& name, const std::string& value) override;
  void remove(const std::string& name) override;

 private:
  struct Connection;
  // The current connection, renewing credentials when they are about to expire; null while Redis is
  // considered down.
  std::shared_ptr<Connection> connection();
  void failed(const std::shared_ptr<Connection>& connection, const Error& error);
  void count(const char* result);

  const service::AttestedIdentity& identity_;
  Sensitive<crypto::Bytes> cache_key_;
  RedisCacheOptions options_;
  std::mutex mutex_;
  std::shared_ptr<Connection> connection_;
  std::chrono::steady_clock::time_point down_until_{};
  prometheus::Family<prometheus::Counter>* results_ = nullptr;
};

}  // namespace cloister::platform

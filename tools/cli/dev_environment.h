#pragma once
// The local development environment `cloister up` keeps in its state directory (default
// .cloister/, created 0700):
//   ca.pem, ca-key.pem            the development CA (ECDSA P-256, 1 year), created on first run;
//                                 it issues each service's certificate for the key that service
//                                 generates at start
//   sim-platform-key.pem          the simulated-platform key that signs sim TEE reports (0600)
//   sim-platform.pub.pem          its public key, which cloister-attest is told to trust
//   attest/ keys/ platform/ infer/  each service's state_dir
//   redis/                        Redis (prepare_dev_redis; docs/redis.md)
//   logs/<service>.log            each service's JSON log (logs/redis.log: redis-server's)

#include "cloister/core/error.h"
#include "cloister/core/sensitive.h"

#include <cstdint>
#include <filesystem>
#include <string>

namespace cloister::cli {

struct DevEnvironment {
  std::filesystem::path state_dir;
  std::filesystem::path ca_certificate;
  std::filesystem::path ca_key;
  std::filesystem::path sim_platform_key;
  std::filesystem::path sim_platform_public_key;
  std::filesystem::path logs;
};

// Creates what is missing (never replaces an existing CA or platform key).
Result<DevEnvironment> prepare_dev_environment(const std::filesystem::path& state_dir);

// Redis for `cloister up`, in <state_dir>/redis/ (0700):
//   admin-password        the password of the Redis admin user `cloister-keys` (0600), generated on
//                         first run; only cloister-keys is given it (redis.admin_password_file)
//   users.acl             the ACL file, rewritten at each start: `default` off, `cloister-keys` with
//                         the password's SHA-256 only (issued caller users live in memory only)
//   tls/server.crt, .key  issued by the development CA at each start (localhost, 127.0.0.1, host)
//   redis.conf            TLS only on `port` (plaintext port 0) bound to host, data in data/
//   data/                 dump.rdb and the append-only file (appendonly yes)
struct DevRedis {
  std::filesystem::path directory;
  std::filesystem::path config_file;
  std::filesystem::path admin_password_file;
  std::filesystem::path data_directory;
  std::string admin_username;
  Sensitive<std::string> admin_password;
};

inline constexpr std::string_view kRedisAdminUsername = "cloister-keys";

// Writes the files above for a server on host:port (host: a loopback IP address).
Result<DevRedis> prepare_dev_redis(const DevEnvironment& environment, const std::string& host, std::uint16_t port);

}  // namespace cloister::cli

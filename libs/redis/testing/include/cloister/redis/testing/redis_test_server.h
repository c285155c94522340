#pragma once
// A real /usr/bin/redis-server for tests: loopback, TLS only, throwaway CA and server certificate,
// `default` user disabled, one admin user with a random password, ACL file and RDB persistence in a
// fresh private temporary directory (removed in the destructor). Stopped by pid, never by name.
//
//   auto server = cloister::redis::testing::RedisTestServer::start();
//   ASSERT_TRUE(server) << server.error().to_string();
//   auto client = cloister::redis::Client::create((*server)->admin_options());

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cloister/core/error.h"
#include "cloister/core/process.h"
#include "cloister/redis/client.h"

namespace cloister::redis::testing {

class RedisTestServer {
 public:
  // Starts the server (TLS on a free 127.0.0.1 port, plaintext port 0) and waits, bounded in count
  // and time, until it answers PING over TLS as admin. Retries with a new port (5 times) when Redis
  // cannot bind. unavailable / io_error when it never comes up (the detail has the log's tail).
  static Result<std::unique_ptr<RedisTestServer>> start();
  // SIGTERM (then SIGKILL) by pid, then removes the directory.
  ~RedisTestServer();
  RedisTestServer(const RedisTestServer&) = delete;
  RedisTestServer& operator=(const RedisTestServer&) = delete;

  std::uint16_t port() const { return port_; }
  // The throwaway CA that issued the server certificate (SANs: DNS localhost, IP 127.0.0.1).
  const std::string& ca_pem() const { return ca_pem_; }
  std::string admin_username() const { return "admin"; }
  std::string admin_password() const { return admin_password_; }
  // host 127.0.0.1, port(), tls, ca_pem(), server_name "localhost", admin credentials, pool 4.
  ClientOptions admin_options() const;
  // The arguments AFTER the executable for /usr/bin/redis-cli that reach this server over TLS as
  // admin: --tls --cacert <dir>/ca.crt -h 127.0.0.1 -p <port> --user admin --pass <pw> --no-auth-warning.
  // Usage: {"/usr/bin/redis-cli", ...cli_arguments(), "PING"}.
  std::vector<std::string> cli_arguments() const;
  // The temporary directory: redis.conf, users.acl (aclfile), ca.crt, server.crt/key, redis.log,
  // data/ (dir, dbfilename dump.rdb).
  const std::filesystem::path& directory() const { return directory_; }
  // The server's pid (e.g. to restart-test persistence) and its log file.
  pid_t pid() const { return process_ ? process_->pid() : -1; }
  std::filesystem::path log_file() const { return directory_ / "redis.log"; }

 private:
  RedisTestServer() = default;
  std::filesystem::path directory_;
  std::uint16_t port_ = 0;
  std::string ca_pem_;
  std::string admin_password_;
  std::optional<ChildProcess> process_;
};

}  // namespace cloister::redis::testing

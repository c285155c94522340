#pragma once
// A Redis client over Boost.Asio + TLS (Debian 12's hiredis has no TLS): RESP2/RESP3 replies,
// a pool of authenticated connections, connect/command timeouts, reconnect with exponential backoff,
// pipelining. Thread-safe: any thread may call command()/pipeline(); each call borrows one pooled
// connection for its duration. Asio and OpenSSL stay behind the pimpl.
//
// Errors (stable codes, docs/errors.md): redis_unavailable (connect, TLS, timeout, connection lost
// after the retries), redis_auth_failed (AUTH refused: wrong or expired/removed user),
// redis_error (the server answered an error reply: its text is in the detail, e.g. "NOPERM ...").
// Passwords and values are never logged.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cloister/core/error.h"
#include "cloister/core/sensitive.h"

namespace cloister::redis {

struct ClientOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  // TLS (the default and the only mode Cloister deploys): the server certificate must chain to
  // ca_pem and match server_name (empty: host). A client certificate is sent when one is given
  // (redis tls-auth-clients).
  bool tls = true;
  std::string ca_pem;
  std::string server_name;
  std::string client_certificate_pem;
  Sensitive<std::string> client_private_key_pem;
  // AUTH <username> <password> on every new connection (empty username: no AUTH).
  std::string username;
  Sensitive<std::string> password;
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds command_timeout{2000};
  std::size_t pool_size = 4;  // connections kept open at most
  // A command that fails with redis_unavailable is retried on a fresh connection this many times,
  // waiting backoff_initial, doubling up to backoff_max between attempts. Only when the command
  // was not sent, or is idempotent per `idempotent` below; otherwise the error is returned.
  int max_retries = 3;
  std::chrono::milliseconds backoff_initial{50};
  std::chrono::milliseconds backoff_max{2000};
};

// One reply (RESP2 and the RESP3 types Redis 7 sends to a RESP2 client).
struct Reply {
  enum class Type { simple_string, error, integer, bulk_string, array, null };
  Type type = Type::null;
  std::string string;            // simple_string, error, bulk_string (binary-safe)
  std::int64_t integer = 0;      // integer
  std::vector<Reply> elements;   // array

  bool is_null() const { return type == Type::null; }
  bool is_ok() const { return type == Type::simple_string && string == "OK"; }
};

class Client {
 public:
  // Validates the options (config_invalid) and connects one connection eagerly so a bad address,
  // certificate or password is reported at start-up (redis_unavailable / redis_auth_failed).
  static Result<std::unique_ptr<Client>> create(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // One command, e.g. {"SET", key, value, "PX", "60000"}. An error reply is redis_error.
  // The reply must come within command_timeout (a blocking command waiting longer times out).
  // Commands that change a connection's state (SELECT, MULTI, SUBSCRIBE, CLIENT TRACKING ...)
  // would carry that state into the pool: don't send them here. HELLO 3 is harmless (RESP3 parses).
  // `idempotent` marks commands safe to resend after a connection broke mid-command (GET, SET
  // without NX/GET, DEL, EXPIRE, ACL SETUSER ...).
  Result<Reply> command(const std::vector<std::string>& arguments, bool idempotent = true);

  // Several commands in one write, the replies in order. Error replies are returned as replies
  // (type error), not as a failure; a transport failure fails the whole pipeline. The write, and
  // then each reply, must complete within command_timeout.
  Result<std::vector<Reply>> pipeline(const std::vector<std::vector<std::string>>& commands, bool idempotent = true);

  // Connections currently open (for tests and metrics).
  std::size_t open_connections() const;

 private:
  struct State;
  explicit Client(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace cloister::redis

#pragma once
// Shared test helpers: a throw-away PKI made with the openssl CLI, bounded subprocesses, servers
// on 127.0.0.1 port 0, and a raw (byte-level) client connection with bounded waits.

#include "cloister/http/client.h"
#include "cloister/http/server.h"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace cloister::http::testing {

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// Runs `sh -c command` under `timeout`, in the PKI directory, capturing its output.
CommandResult run_command(const std::string& command, int timeout_seconds = 20);
std::string shell_quote(std::string_view text);

// One CA with a server and a client certificate, a second CA with a client and a server
// certificate, and a server certificate naming another host. EC P-256 keys, made once per process.
struct TestPki {
  std::filesystem::path dir;
  std::string ca_pem;
  std::string server_cert_pem;  // SAN IP:127.0.0.1, DNS:localhost
  std::string server_key_pem;
  std::string client_cert_pem;  // CN=platform, O=Cloister Test; clientAuth
  std::string client_key_pem;
  std::string other_ca_pem;
  std::string other_client_cert_pem;
  std::string other_client_key_pem;
  std::string other_server_cert_pem;  // from the other CA, SAN IP:127.0.0.1
  std::string other_server_key_pem;
  std::string wrong_name_cert_pem;  // from the main CA, SAN DNS:other.test only
  std::string wrong_name_key_pem;

  std::string path(std::string_view name) const { return (dir / name).string(); }
  static const TestPki& get();
};

// TLS server options with the main server certificate (no client certificates).
ServerOptions tls_server_options();
// A client trusting the main CA.
ClientOptions tls_client_options();
std::string https_url(std::uint16_t port, std::string_view path);
std::string http_url(std::uint16_t port, std::string_view path);
std::string sha256_hex(std::string_view data);

// A started server; stopped (1 s grace) on destruction.
std::unique_ptr<Server> start_server(ServerOptions options, Router router, std::shared_ptr<Metrics> metrics = nullptr);

// A blocking client connection (plain TCP or TLS trusting the main CA) with bounded reads.
class RawConnection {
 public:
  enum class End { matched, closed, timeout };
  static std::unique_ptr<RawConnection> open(std::uint16_t port, bool tls,
                                             std::chrono::milliseconds read_timeout = std::chrono::seconds(10));
  ~RawConnection();
  bool send(std::string_view data);
  // Reads into received until done(received), the peer closes, or read_timeout passes with nothing.
  End read_until(std::string& received, const std::function<bool(const std::string&)>& done);

 private:
  RawConnection() = default;
  int fd_ = -1;
  void* ssl_ = nullptr;      // SSL*
  void* context_ = nullptr;  // SSL_CTX*
};

// The value of an unlabelled sample in Prometheus text ("name 3"); -1 when absent.
double metric_value(std::string_view text, std::string_view name);

std::size_t count_occurrences(std::string_view text, std::string_view needle);

// A TCP listener that never accepts or answers (the kernel completes the TCP handshake).
class SilentListener {
 public:
  SilentListener();
  ~SilentListener();
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

// A port with nothing listening (bound then closed).
std::uint16_t closed_port();

}  // namespace cloister::http::testing

#include "cloister/redis/testing/redis_test_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "cloister/core/private_files.h"
#include "cloister/crypto/hash.h"
#include "cloister/crypto/keys.h"
#include "cloister/crypto/random.h"
#include "cloister/crypto/x509.h"

namespace cloister::redis::testing {
namespace {

constexpr const char* kRedisServer = "/usr/bin/redis-server";
constexpr int kStartAttempts = 5;
constexpr int kPingAttempts = 200;                     // × kPingInterval: 10 s at most per attempt
constexpr std::chrono::milliseconds kPingInterval{50};
constexpr std::chrono::milliseconds kStopGrace{5000};

// A port the kernel considers free right now (bind 127.0.0.1:0, read it, close).
Result<std::uint16_t> free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return fail(ErrorCode::io_error, "socket()");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  ::close(fd);
  if (!ok) return fail(ErrorCode::io_error, "cannot bind 127.0.0.1:0");
  return ntohs(address.sin_port);
}

std::string log_tail(const std::filesystem::path& path) {
  auto text = read_file(path, 1 << 20);
  if (!text) return "(no log)";
  constexpr std::size_t kTail = 800;
  return text->size() > kTail ? text->substr(text->size() - kTail) : *text;
}

struct Certificates {
  std::string ca_pem;
  std::string server_pem;
  std::string server_key_pem;
};

Result<Certificates> issue_certificates() {
  auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto ca_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  crypto::CertificateOptions ca_options;
  ca_options.common_name = "Cloister Redis test CA";
  ca_options.is_ca = true;
  ca_options.not_before_unix = now - 3600;
  ca_options.not_after_unix = now + 7 * 86400;
  auto ca = crypto::issue_certificate(ca_key.public_key(), ca_options, ca_key, nullptr);
  if (!ca) return std::unexpected(ca.error());
  auto server_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  crypto::CertificateOptions server_options;
  server_options.common_name = "localhost";
  server_options.dns_names = {"localhost"};
  server_options.ip_addresses = {"127.0.0.1"};
  server_options.not_before_unix = now - 3600;
  server_options.not_after_unix = now + 7 * 86400;
  auto server = crypto::issue_certificate(server_key.public_key(), server_options, ca_key, &*ca);
  if (!server) return std::unexpected(server.error());
  return Certificates{ca->pem(), server->pem(), server_key.pem().reveal()};
}

Result<std::filesystem::path> make_temporary_directory() {
  std::error_code error;
  auto base = std::filesystem::temp_directory_path(error);
  if (error) base = "/tmp";
  std::string pattern = (base / "cloister-redis-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) return fail(ErrorCode::io_error, "mkdtemp " + pattern);
  return std::filesystem::path(pattern);  // mkdtemp creates it 0700
}

std::string config_text(const std::filesystem::path& directory, std::uint16_t port) {
  std::ostringstream out;
  out << "bind 127.0.0.1\n"
      << "port 0\n"
      << "tls-port " << port << "\n"
      << "tls-cert-file " << (directory / "server.crt").string() << "\n"
      << "tls-key-file " << (directory / "server.key").string() << "\n"
      << "tls-ca-cert-file " << (directory / "ca.crt").string() << "\n"
      << "tls-auth-clients no\n"
      << "tls-protocols \"TLSv1.2 TLSv1.3\"\n"
      << "daemonize no\n"
      << "loglevel notice\n"
      << "logfile \"\"\n"
      << "aclfile " << (directory / "users.acl").string() << "\n"
      << "dir " << (directory / "data").string() << "\n"
      << "dbfilename dump.rdb\n"
      << "appendonly no\n"
      << "databases 16\n";
  return out.str();
}

}  // namespace

ClientOptions RedisTestServer::admin_options() const {
  ClientOptions options;
  options.host = "127.0.0.1";
  options.port = port_;
  options.tls = true;
  options.ca_pem = ca_pem_;
  options.server_name = "localhost";
  options.username = admin_username();
  options.password = Sensitive<std::string>(admin_password_);
  return options;
}

std::vector<std::string> RedisTestServer::cli_arguments() const {
  return {"--tls",  "--cacert", (directory_ / "ca.crt").string(), "-h", "127.0.0.1", "-p", std::to_string(port_),
          "--user", "admin",    "--pass", admin_password_, "--no-auth-warning"};
}

Result<std::unique_ptr<RedisTestServer>> RedisTestServer::start() {
  std::unique_ptr<RedisTestServer> server(new RedisTestServer());
  auto directory = make_temporary_directory();
  if (!directory) return std::unexpected(directory.error());
  server->directory_ = *directory;  // from here on the destructor removes it

  auto certificates = issue_certificates();
  if (!certificates) return std::unexpected(certificates.error());
  server->ca_pem_ = certificates->ca_pem;
  server->admin_password_ = crypto::random_hex(24);
  const auto& dir = server->directory_;
  if (auto status = ensure_private_directory(dir / "data"); !status) return std::unexpected(status.error());
  for (auto [name, content] : {std::pair<const char*, const std::string*>{"ca.crt", &certificates->ca_pem},
                               {"server.crt", &certificates->server_pem},
                               {"server.key", &certificates->server_key_pem}}) {
    if (auto status = write_private_file(dir / name, *content); !status) return std::unexpected(status.error());
  }
  // The ACL file holds the password's SHA-256 only (as ACL SAVE would write it).
  std::string acl = "user default off resetkeys resetchannels -@all\n"
                    "user admin on #" +
                    crypto::hex_encode(crypto::sha256(crypto::as_bytes(server->admin_password_))) +
                    " ~* &* +@all\n";
  if (auto status = write_private_file(dir / "users.acl", acl); !status) return std::unexpected(status.error());

  Error last{ErrorCode::unavailable, "redis-server did not start"};
  for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
    auto port = free_loopback_port();
    if (!port) return std::unexpected(port.error());
    server->port_ = *port;
    if (auto status = write_private_file(dir / "redis.conf", config_text(dir, *port)); !status) {
      return std::unexpected(status.error());
    }
    ProcessOptions process_options;
    process_options.arguments = {kRedisServer, (dir / "redis.conf").string()};
    process_options.output_file = server->log_file().string();
    auto process = ChildProcess::spawn(process_options);
    if (!process) return std::unexpected(process.error());
    server->process_.emplace(std::move(*process));

    ClientOptions options = server->admin_options();
    options.connect_timeout = std::chrono::milliseconds(1000);
    options.command_timeout = std::chrono::milliseconds(1000);
    options.max_retries = 0;
    options.pool_size = 1;
    bool exited = false;
    for (int ping = 0; ping < kPingAttempts; ++ping) {
      if (!server->process_->running()) {
        exited = true;
        break;
      }
      auto client = Client::create(options);
      if (client) {
        auto reply = (*client)->command({"PING"});
        if (reply && reply->type == Reply::Type::simple_string && reply->string == "PONG") return server;
        last = reply ? Error{ErrorCode::unavailable, "unexpected PING reply"} : reply.error();
      } else {
        last = client.error();
        if (last.code == ErrorCode::redis_auth_failed || last.code == ErrorCode::config_invalid) break;
      }
      std::this_thread::sleep_for(kPingInterval);
    }
    server->process_->stop(kStopGrace);
    server->process_.reset();
    if (!exited) break;  // it ran but never answered: another port will not help
    last = Error{ErrorCode::unavailable, "redis-server exited: " + log_tail(server->log_file())};
  }
  return fail(last.code == ErrorCode::unavailable ? ErrorCode::unavailable : last.code,
              last.detail + " | log: " + log_tail(server->log_file()));
}

RedisTestServer::~RedisTestServer() {
  if (process_) process_->stop(kStopGrace);
  process_.reset();
  if (!directory_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
  }
}

}  // namespace cloister::redis::testing

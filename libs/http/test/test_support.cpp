#include "test_support.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace cloister::http::testing {
namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_file(const std::filesystem::path& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary);
  out << data;
}

std::filesystem::path make_temp_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "cloister-http-test-XXXXXX").string();
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

const std::filesystem::path& work_dir() {
  static const std::filesystem::path dir = make_temp_dir();
  return dir;
}

void must(const std::string& command) {
  auto result = run_command(command);
  if (result.exit_code != 0) throw std::runtime_error("PKI command failed: " + command + "\n" + result.output);
}

constexpr const char* kLeafExtensions = "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n";

// A key and a certificate for `name`, signed by `ca`.
void issue(const std::string& name, const std::string& ca, const std::string& subject, const std::string& extensions) {
  write_file(work_dir() / (name + ".ext"), std::string(kLeafExtensions) + extensions);
  must("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + name + ".key");
  must("openssl req -new -key " + name + ".key -subj " + shell_quote(subject) + " -out " + name + ".csr");
  must("openssl x509 -req -in " + name + ".csr -CA " + ca + ".crt -CAkey " + ca + ".key -CAcreateserial -days 30 -extfile " +
       name + ".ext -out " + name + ".crt");
}

void make_ca(const std::string& name, const std::string& subject) {
  must("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + name + ".key");
  must("openssl req -x509 -new -key " + name + ".key -subj " + shell_quote(subject) +
       " -days 30 -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign' -out " + name +
       ".crt");
}

struct PkiHolder {
  TestPki pki;
  PkiHolder() {
    pki.dir = work_dir();
    make_ca("ca", "/CN=Cloister Test CA");
    make_ca("other-ca", "/CN=Other Test CA");
    issue("server", "ca", "/CN=localhost", "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n");
    issue("client", "ca", "/O=Cloister Test/CN=platform", "extendedKeyUsage=clientAuth\nsubjectAltName=DNS:platform.test\n");
    issue("other-client", "other-ca", "/CN=intruder", "extendedKeyUsage=clientAuth\n");
    issue("other-server", "other-ca", "/CN=impostor", "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n");
    issue("wrong-name", "ca", "/CN=other.test", "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:other.test\n");
    auto load = [&](const char* name) { return read_file(pki.dir / name); };
    pki.ca_pem = load("ca.crt");
    pki.server_cert_pem = load("server.crt");
    pki.server_key_pem = load("server.key");
    pki.client_cert_pem = load("client.crt");
    pki.client_key_pem = load("client.key");
    pki.other_ca_pem = load("other-ca.crt");
    pki.other_client_cert_pem = load("other-client.crt");
    pki.other_client_key_pem = load("other-client.key");
    pki.other_server_cert_pem = load("other-server.crt");
    pki.other_server_key_pem = load("other-server.key");
    pki.wrong_name_cert_pem = load("wrong-name.crt");
    pki.wrong_name_key_pem = load("wrong-name.key");
  }
  ~PkiHolder() {
    std::error_code ignored;
    std::filesystem::remove_all(pki.dir, ignored);
  }
};

}  // namespace

std::string shell_quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  out += "'";
  return out;
}

CommandResult run_command(const std::string& command, int timeout_seconds) {
  static std::atomic<int> counter{0};
  auto output_path = work_dir() / ("command-" + std::to_string(counter++) + ".out");
  std::string full = "cd " + shell_quote(work_dir().string()) + " && timeout -k 5 " + std::to_string(timeout_seconds) +
                     " sh -c " + shell_quote(command) + " > " + shell_quote(output_path.string()) + " 2>&1 < /dev/null";
  int status = std::system(full.c_str());
  CommandResult result;
  result.exit_code = (status != -1 && WIFEXITED(status)) ? WEXITSTATUS(status) : -1;
  result.output = read_file(output_path);
  std::error_code ignored;
  std::filesystem::remove(output_path, ignored);
  return result;
}

const TestPki& TestPki::get() {
  static const PkiHolder holder;
  return holder.pki;
}

ServerOptions tls_server_options() {
  const auto& pki = TestPki::get();
  ServerOptions options;
  options.tls.certificate_chain_pem = pki.server_cert_pem;
  options.tls.private_key_pem = Sensitive<std::string>(pki.server_key_pem);
  options.threads = 2;
  options.handler_threads = 4;
  options.service_name = "http-test";
  return options;
}

ClientOptions tls_client_options() {
  ClientOptions options;
  options.ca_pem = TestPki::get().ca_pem;
  options.connect_timeout = std::chrono::seconds(10);
  options.request_timeout = std::chrono::seconds(20);
  return options;
}

std::string https_url(std::uint16_t port, std::string_view path) {
  return "https://127.0.0.1:" + std::to_string(port) + std::string(path);
}

std::string http_url(std::uint16_t port, std::string_view path) {
  return "http://127.0.0.1:" + std::to_string(port) + std::string(path);
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

std::unique_ptr<Server> start_server(ServerOptions options, Router router, std::shared_ptr<Metrics> metrics) {
  auto server = std::make_unique<Server>(std::move(options), std::move(router), std::move(metrics));
  auto started = server->start();
  if (!started) throw std::runtime_error("server did not start: " + started.error().to_string());
  return server;
}

double metric_value(std::string_view text, std::string_view name) {
  std::string needle = "\n" + std::string(name) + " ";
  std::string padded = "\n" + std::string(text);
  auto at = padded.find(needle);
  if (at == std::string::npos) return -1;
  return std::stod(padded.substr(at + needle.size()));
}

std::size_t count_occurrences(std::string_view text, std::string_view needle) {
  std::size_t count = 0;
  for (auto at = text.find(needle); at != std::string_view::npos; at = text.find(needle, at + needle.size())) ++count;
  return count;
}

// --- RawConnection ---

std::unique_ptr<RawConnection> RawConnection::open(std::uint16_t port, bool tls, std::chrono::milliseconds read_timeout) {
  std::unique_ptr<RawConnection> connection(new RawConnection());
  connection->fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (connection->fd_ < 0) return nullptr;
  timeval timeout{};
  timeout.tv_sec = static_cast<long>(read_timeout.count() / 1000);
  timeout.tv_usec = static_cast<long>((read_timeout.count() % 1000) * 1000);
  setsockopt(connection->fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(connection->fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(connection->fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return nullptr;
  if (!tls) return connection;
  auto* context = SSL_CTX_new(TLS_client_method());
  connection->context_ = context;
  BIO* bio = BIO_new_mem_buf(TestPki::get().ca_pem.data(), static_cast<int>(TestPki::get().ca_pem.size()));
  X509* ca = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  X509_STORE_add_cert(SSL_CTX_get_cert_store(context), ca);
  X509_free(ca);
  SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nullptr);
  SSL* ssl = SSL_new(context);
  connection->ssl_ = ssl;
  SSL_set_fd(ssl, connection->fd_);
  if (SSL_connect(ssl) != 1) return nullptr;
  return connection;
}

RawConnection::~RawConnection() {
  if (ssl_) SSL_free(static_cast<SSL*>(ssl_));
  if (context_) SSL_CTX_free(static_cast<SSL_CTX*>(context_));
  if (fd_ >= 0) ::close(fd_);
}

bool RawConnection::send(std::string_view data) {
  while (!data.empty()) {
    long sent = ssl_ ? SSL_write(static_cast<SSL*>(ssl_), data.data(), static_cast<int>(data.size()))
                     : ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (sent <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(sent));
  }
  return true;
}

RawConnection::End RawConnection::read_until(std::string& received, const std::function<bool(const std::string&)>& done) {
  // Bounded: every read waits at most read_timeout, and the loop ends on close or timeout.
  for (int reads = 0; reads < 100000; ++reads) {
    if (done(received)) return End::matched;
    char buffer[4096];
    errno = 0;
    long n = 0;
    if (ssl_) {
      n = SSL_read(static_cast<SSL*>(ssl_), buffer, sizeof buffer);
      if (n <= 0) {
        int error = SSL_get_error(static_cast<SSL*>(ssl_), static_cast<int>(n));
        bool would_block = (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_SYSCALL) &&
                           (errno == EAGAIN || errno == EWOULDBLOCK);
        ERR_clear_error();
        return would_block ? End::timeout : End::closed;
      }
    } else {
      n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? End::timeout : End::closed;
      if (n == 0) return End::closed;
    }
    received.append(buffer, static_cast<std::size_t>(n));
  }
  return End::timeout;
}

// --- SilentListener ---

SilentListener::SilentListener() {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = 0;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(fd_, 16) != 0) {
    throw std::runtime_error("silent listener: bind/listen failed");
  }
  socklen_t length = sizeof address;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.sin_port);
}

SilentListener::~SilentListener() {
  if (fd_ >= 0) ::close(fd_);
}

std::uint16_t closed_port() {
  SilentListener listener;
  return listener.port();  // closed when listener goes out of scope
}

}  // namespace cloister::http::testing

// The Redis client: one io_context per connection, driven on the calling thread with a deadline
// (run_until); an operation that misses its deadline closes the socket, which aborts it, and the
// connection is discarded, never reused. connect_timeout bounds resolve + TCP connect + TLS
// handshake; command_timeout bounds AUTH, each write and each reply.

#include "cloister/redis/client.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <functional>
#include <mutex>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <nlohmann/json.hpp>

#include "cloister/core/log.h"
#include "resp.h"

namespace cloister::redis {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using ErrorCodeAsio = boost::system::error_code;
using SteadyClock = std::chrono::steady_clock;

// TLS 1.2 AEAD suites with ECDHE only; the TLS 1.3 suites are all AEAD.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256";
constexpr const char* kTls13Ciphersuites = "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256";
constexpr std::size_t kReadChunk = 16 * 1024;
constexpr std::size_t kMaxErrorDetail = 512;  // Redis may echo arguments in an error: keep it short
// After a deadline the socket is closed; the aborted handlers then run promptly. Bounded anyway.
constexpr std::chrono::milliseconds kAbortDrain{1000};

std::string drain_openssl_errors() {
  std::string out;
  while (unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    if (!out.empty()) out += "; ";
    out += buffer;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;
using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

BioPtr memory_bio(std::string_view data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())), &BIO_free);
}

Result<std::vector<X509Ptr>> read_certificates(std::string_view pem, std::string_view what) {
  std::vector<X509Ptr> certificates;
  auto bio = memory_bio(pem);
  if (!bio) return fail(ErrorCode::internal, "out of memory");
  for (;;) {
    X509Ptr certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
    if (!certificate) break;
    certificates.push_back(std::move(certificate));
  }
  ERR_clear_error();  // the loop ends on "no start line"
  if (certificates.empty()) return fail(ErrorCode::config_invalid, std::string(what) + ": no PEM certificate");
  return certificates;
}

// TLS 1.2+, AEAD suites, peer verification against ca_pem (or the system store), optional client certificate.
Status configure_tls(SSL_CTX* context, const ClientOptions& options) {
  ERR_clear_error();
  if (SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(context, kTls12Ciphers) != 1 ||
      SSL_CTX_set_ciphersuites(context, kTls13Ciphersuites) != 1) {
    return fail(ErrorCode::config_invalid, "Redis TLS protocol configuration: " + drain_openssl_errors());
  }
  SSL_CTX_set_options(context, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(context, SSL_SESS_CACHE_OFF);
  if (options.ca_pem.empty()) {
    if (SSL_CTX_set_default_verify_paths(context) != 1) {
      return fail(ErrorCode::config_invalid, "system trust store: " + drain_openssl_errors());
    }
  } else {
    auto anchors = read_certificates(options.ca_pem, "Redis ca_pem");
    if (!anchors) return std::unexpected(anchors.error());
    X509_STORE* store = SSL_CTX_get_cert_store(context);
    for (const auto& anchor : *anchors) {
      if (X509_STORE_add_cert(store, anchor.get()) != 1 &&
          ERR_GET_REASON(ERR_peek_last_error()) != X509_R_CERT_ALREADY_IN_HASH_TABLE) {
        return fail(ErrorCode::config_invalid, "Redis ca_pem: " + drain_openssl_errors());
      }
      ERR_clear_error();
    }
  }
  SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_verify_depth(context, 8);
  if (!options.client_certificate_pem.empty()) {
    auto chain = read_certificates(options.client_certificate_pem, "Redis client certificate");
    if (!chain) return std::unexpected(chain.error());
    auto bio = memory_bio(options.client_private_key_pem.reveal());
    EvpPkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr, &EVP_PKEY_free);
    ERR_clear_error();
    if (!key) return fail(ErrorCode::config_invalid, "Redis client private key: no PEM private key");
    if (SSL_CTX_use_certificate(context, chain->front().get()) != 1) {
      return fail(ErrorCode::config_invalid, "Redis client certificate refused: " + drain_openssl_errors());
    }
    for (std::size_t i = 1; i < chain->size(); ++i) {
      if (SSL_CTX_add1_chain_cert(context, (*chain)[i].get()) != 1) {
        return fail(ErrorCode::config_invalid, "Redis client chain certificate refused: " + drain_openssl_errors());
      }
    }
    if (SSL_CTX_use_PrivateKey(context, key.get()) != 1 || SSL_CTX_check_private_key(context) != 1) {
      ERR_clear_error();
      return fail(ErrorCode::config_invalid, "the Redis client private key does not match its certificate");
    }
  }
  return {};
}

Status validate(const ClientOptions& options) {
  auto invalid = [](std::string what) { return fail(ErrorCode::config_invalid, "Redis client: " + what); };
  if (options.host.empty()) return invalid("host is empty");
  if (options.port == 0) return invalid("port is 0");
  if (options.pool_size == 0) return invalid("pool_size must be at least 1");
  if (options.connect_timeout.count() <= 0) return invalid("connect_timeout must be positive");
  if (options.command_timeout.count() <= 0) return invalid("command_timeout must be positive");
  if (options.max_retries < 0) return invalid("max_retries must not be negative");
  if (options.backoff_initial.count() < 0 || options.backoff_max < options.backoff_initial) {
    return invalid("backoff_initial must be >= 0 and <= backoff_max");
  }
  if (options.client_certificate_pem.empty() != options.client_private_key_pem.reveal().empty()) {
    return invalid("a client certificate needs its private key and vice versa");
  }
  if (!options.tls && (!options.client_certificate_pem.empty() || !options.ca_pem.empty())) {
    return invalid("TLS settings given but tls is false");
  }
  if (options.username.empty() && !options.password.reveal().empty()) {
    return invalid("a password needs a username (the default user is disabled)");
  }
  return {};
}

}  // namespace

// One connection: TCP (+ TLS), the RESP parser, and its own io_context. Used by one thread at a time.
class Connection {
 public:
  Connection(const ClientOptions& options, asio::ssl::context& tls_context, std::atomic<std::size_t>& open_count)
      : options_(options), stream_(io_, tls_context), open_count_(open_count) {}
  ~Connection() {
    close();
    if (counted_) open_count_.fetch_sub(1);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Connect (+ TLS handshake) within connect_timeout, then AUTH (or PING without credentials)
  // within command_timeout.
  Status open() {
    auto deadline = SteadyClock::now() + options_.connect_timeout;
    ErrorCodeAsio error;
    std::vector<tcp::endpoint> endpoints;
    auto address = asio::ip::make_address(options_.host, error);
    if (!error) {
      endpoints.emplace_back(address, options_.port);
    } else {
      tcp::resolver resolver(io_);
      bool done = false;
      resolver.async_resolve(options_.host, std::to_string(options_.port),
                             [&](const ErrorCodeAsio& e, const tcp::resolver::results_type& results) {
                               error = e;
                               for (const auto& entry : results) endpoints.push_back(entry.endpoint());
                               done = true;
                             });
      if (!run(deadline, done, [&] { resolver.cancel(); })) return unavailable("resolving the host timed out");
      if (error) return unavailable("cannot resolve the host: " + error.message());
      if (endpoints.empty()) return unavailable("the host resolves to no address");
    }
    {
      bool done = false;
      asio::async_connect(socket(), endpoints, [&](const ErrorCodeAsio& e, const tcp::endpoint&) {
        error = e;
        done = true;
      });
      if (!run(deadline, done)) return unavailable("connect timed out");
      if (error) return unavailable("connect failed: " + error.message());
    }
    socket().set_option(tcp::no_delay(true), error);
    if (options_.tls) {
      if (auto status = prepare_tls(); !status) return status;
      bool done = false;
      stream_.async_handshake(asio::ssl::stream_base::client, [&](const ErrorCodeAsio& e) {
        error = e;
        done = true;
      });
      if (!run(deadline, done)) return unavailable("TLS handshake timed out");
      if (error) {
        std::string detail = "TLS handshake failed: " + error.message();
        long verify = SSL_get_verify_result(stream_.native_handle());
        if (verify != X509_V_OK) detail += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
        ERR_clear_error();
        broken_ = true;
        return fail(ErrorCode::redis_unavailable, detail);
      }
    }
    counted_ = true;
    open_count_.fetch_add(1);

    std::vector<std::string> hello = options_.username.empty()
                                         ? std::vector<std::string>{"PING"}
                                         : std::vector<std::string>{"AUTH", options_.username, options_.password.reveal()};
    bool sent = false;
    auto reply = exchange(resp::encode_command(hello), 1, sent);
    if (!reply) return std::unexpected(reply.error());
    const Reply& answer = reply->front();
    if (answer.type == Reply::Type::error) {
      broken_ = true;  // never pooled
      if (options_.username.empty() && !answer.string.starts_with("NOAUTH")) {
        return fail(ErrorCode::redis_error, answer.string.substr(0, kMaxErrorDetail));
      }
      return fail(ErrorCode::redis_auth_failed, answer.string.substr(0, kMaxErrorDetail));
    }
    return {};
  }

  // One write of the whole payload, then `count` replies, each within command_timeout of the
  // previous step. `sent` says whether any byte may have reached the server.
  Result<std::vector<Reply>> exchange(const std::string& payload, std::size_t count, bool& sent) {
    if (broken_) return fail(ErrorCode::redis_unavailable, "connection already broken");
    {
      bool done = false;
      ErrorCodeAsio error;
      std::size_t written = 0;
      auto handler = [&](const ErrorCodeAsio& e, std::size_t n) {
        error = e;
        written = n;
        done = true;
      };
      if (options_.tls) {
        asio::async_write(stream_, asio::buffer(payload), handler);
      } else {
        asio::async_write(socket(), asio::buffer(payload), handler);
      }
      bool completed = run(SteadyClock::now() + options_.command_timeout, done);
      sent = !completed || written > 0 || !error;
      if (!completed) return unavailable("writing to Redis timed out");
      if (error) return unavailable("connection lost while writing: " + error.message());
    }
    std::vector<Reply> replies;
    replies.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      auto reply = read_reply(SteadyClock::now() + options_.command_timeout);
      if (!reply) return std::unexpected(reply.error());
      replies.push_back(std::move(*reply));
    }
    return replies;
  }

  // An idle pooled connection the server closed (CLIENT KILL, timeout, restart) or that holds
  // unexpected bytes: not to be used.
  bool stale() {
    if (broken_ || parser_.buffered() > 0) return true;
    if (options_.tls && SSL_has_pending(stream_.native_handle())) return true;
    pollfd descriptor{};
    descriptor.fd = socket().native_handle();
    descriptor.events = POLLIN | POLLRDHUP;
    int ready = ::poll(&descriptor, 1, 0);
    return ready != 0;  // readable, hung up, or poll failed
  }

  bool broken() const { return broken_; }

 private:
  tcp::socket& socket() { return stream_.next_layer(); }

  std::unexpected<Error> unavailable(std::string detail) {
    broken_ = true;
    ERR_clear_error();
    return fail(ErrorCode::redis_unavailable, std::move(detail));
  }

  void close() {
    ErrorCodeAsio ignored;
    socket().close(ignored);
  }

  // Runs the io_context until the pending operation sets `done` or the deadline passes. On a
  // timeout: the connection is marked broken, the socket closed (aborting the operation) and the
  // aborted handler drained; returns false.
  bool run(SteadyClock::time_point deadline, const bool& done, const std::function<void()>& cancel = {}) {
    io_.restart();
    io_.run_until(deadline);
    if (done) return true;
    broken_ = true;
    if (cancel) cancel();
    close();
    io_.restart();
    io_.run_for(kAbortDrain);
    io_.stop();
    return false;
  }

  Result<Reply> read_reply(SteadyClock::time_point deadline) {
    for (;;) {
      auto next = parser_.next();
      if (!next) {
        broken_ = true;
        return std::unexpected(next.error());
      }
      if (*next) return std::move(**next);
      bool done = false;
      ErrorCodeAsio error;
      std::size_t received = 0;
      auto handler = [&](const ErrorCodeAsio& e, std::size_t n) {
        error = e;
        received = n;
        done = true;
      };
      if (options_.tls) {
        stream_.async_read_some(asio::buffer(buffer_), handler);
      } else {
        socket().async_read_some(asio::buffer(buffer_), handler);
      }
      if (!run(deadline, done)) return unavailable("Redis did not answer within command_timeout");
      if (received > 0) parser_.feed(std::string_view(buffer_.data(), received));
      if (error && received == 0) return unavailable("connection lost: " + error.message());
    }
  }

  Status prepare_tls() {
    SSL* ssl = stream_.native_handle();
    const std::string& name = options_.server_name.empty() ? options_.host : options_.server_name;
    ErrorCodeAsio not_ip;
    asio::ip::make_address(name, not_ip);
    if (!not_ip) {
      if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str()) != 1) {
        return fail(ErrorCode::config_invalid, "Redis server_name: bad IP address");
      }
    } else {
      if (SSL_set_tlsext_host_name(ssl, name.c_str()) != 1 || SSL_set1_host(ssl, name.c_str()) != 1) {
        ERR_clear_error();
        return fail(ErrorCode::config_invalid, "Redis server_name: bad host name");
      }
      SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    }
    return {};
  }

  const ClientOptions& options_;
  asio::io_context io_{1};
  asio::ssl::stream<tcp::socket> stream_;
  std::atomic<std::size_t>& open_count_;
  resp::Parser parser_;
  std::array<char, kReadChunk> buffer_{};
  bool broken_ = false;
  bool counted_ = false;
};

struct Client::State {
  explicit State(ClientOptions client_options)
      : options(std::move(client_options)), tls_context(asio::ssl::context::tls_client) {}
  ~State() {
    std::lock_guard lock(mutex);
    idle.clear();
  }

  Result<std::unique_ptr<Connection>> connect_new() {
    auto connection = std::make_unique<Connection>(options, tls_context, open_count);
    if (auto status = connection->open(); !status) return std::unexpected(status.error());
    return connection;
  }

  // An idle connection that still looks alive, else a new one.
  Result<std::unique_ptr<Connection>> acquire() {
    for (;;) {
      std::unique_ptr<Connection> connection;
      {
        std::lock_guard lock(mutex);
        if (idle.empty()) break;
        connection = std::move(idle.back());
        idle.pop_back();
      }
      if (!connection->stale()) return connection;
      // dropped: the server closed it while idle
    }
    return connect_new();
  }

  void release(std::unique_ptr<Connection> connection) {
    if (connection->broken()) return;
    std::lock_guard lock(mutex);
    if (idle.size() < options.pool_size) idle.push_back(std::move(connection));
  }

  // Sends the payload (count commands) with the retry policy of ClientOptions.
  Result<std::vector<Reply>> execute(const std::string* payload, std::size_t count, bool idempotent) {
    auto backoff = options.backoff_initial;
    for (int attempt = 0;; ++attempt) {
      bool sent = false;
      Error error;
      auto connection = acquire();
      if (connection) {
        if (payload == nullptr) {  // create(): the connection itself is the point
          release(std::move(*connection));
          return std::vector<Reply>{};
        }
        auto replies = (*connection)->exchange(*payload, count, sent);
        if (replies) {
          release(std::move(*connection));
          return replies;
        }
        error = replies.error();  // the connection is broken: dropped here
      } else {
        error = connection.error();
      }
      if (error.code != ErrorCode::redis_unavailable || (sent && !idempotent) || attempt >= options.max_retries) {
        return std::unexpected(error);
      }
      log::warn("redis: reconnecting after a transport error",
                {{"attempt", attempt + 1}, {"error", error.detail}, {"backoff_ms", backoff.count()}});
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, options.backoff_max);
    }
  }

  ClientOptions options;
  asio::ssl::context tls_context;  // before the pool: outlives every connection
  std::atomic<std::size_t> open_count{0};
  std::mutex mutex;
  std::vector<std::unique_ptr<Connection>> idle;
};

Client::Client(std::unique_ptr<State> state) : state_(std::move(state)) {}
Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::create(ClientOptions options) {
  if (auto status = validate(options); !status) return std::unexpected(status.error());
  std::unique_ptr<State> state;
  try {
    state = std::make_unique<State>(std::move(options));
  } catch (const std::exception& error) {
    return fail(ErrorCode::config_invalid, std::string("Redis TLS context: ") + error.what());
  }
  if (state->options.tls) {
    if (auto status = configure_tls(state->tls_context.native_handle(), state->options); !status) {
      return std::unexpected(status.error());
    }
  }
  if (auto connected = state->execute(nullptr, 0, true); !connected) return std::unexpected(connected.error());
  return std::unique_ptr<Client>(new Client(std::move(state)));
}

Result<Reply> Client::command(const std::vector<std::string>& arguments, bool idempotent) {
  if (arguments.empty()) return fail(ErrorCode::invalid_argument, "empty Redis command");
  auto payload = resp::encode_command(arguments);
  auto replies = state_->execute(&payload, 1, idempotent);
  if (!replies) return std::unexpected(replies.error());
  Reply reply = std::move(replies->front());
  if (reply.type == Reply::Type::error) {
    return fail(ErrorCode::redis_error, reply.string.substr(0, kMaxErrorDetail));
  }
  return reply;
}

Result<std::vector<Reply>> Client::pipeline(const std::vector<std::vector<std::string>>& commands, bool idempotent) {
  if (commands.empty()) return std::vector<Reply>{};
  std::string payload;
  for (const auto& arguments : commands) {
    if (arguments.empty()) return fail(ErrorCode::invalid_argument, "empty Redis command in a pipeline");
    resp::encode_command(arguments, payload);
  }
  return state_->execute(&payload, commands.size(), idempotent);
}

std::size_t Client::open_connections() const { return state_->open_count.load(); }

}  // namespace cloister::redis

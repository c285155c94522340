// The HTTPS server: one coroutine per connection on its own strand; route handlers run on a
// separate pool so a slow handler never stalls TLS, parsing or the built-in probes.

#include "cloister/http/server.h"

#include "cloister/core/ids.h"
#include "cloister/core/log.h"
#include "tls.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <nlohmann/json.hpp>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <openssl/asn1.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <array>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <ctime>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

namespace cloister::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using PlainStream = beast::tcp_stream;

constexpr std::string_view kUnmatchedRoute = "(unmatched)";
constexpr std::size_t kReadChunk = 16 * 1024;
constexpr std::size_t kMaxRequestIdLength = 64;
constexpr std::size_t kLingerBytes = 1024 * 1024;
constexpr auto kCloseTimeout = std::chrono::seconds(1);
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(50);
constexpr auto kFinalDrainTimeout = std::chrono::seconds(3);
constexpr std::string_view kHsts = "max-age=31536000";
constexpr std::string_view kPreflightRoute = "(preflight)";
constexpr std::string_view kCorsExposedHeaders = "X-Request-Id, ETag, Location, Retry-After";
constexpr std::string_view kCorsAllowedHeaders = "Content-Type, Authorization, If-Match, X-Request-Id";
constexpr std::string_view kCorsMaxAge = "600";

const prometheus::Histogram::BucketBoundaries& duration_buckets() {
  static const prometheus::Histogram::BucketBoundaries buckets = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                                  0.5,   1.0,   2.5,  5.0,   10.0, 30.0};
  return buckets;
}

// The request's Origin when CORS admits it (server.h), else nothing.
std::optional<std::string> admitted_origin(const std::vector<std::string>& allowed, const Headers& headers) {
  if (allowed.empty()) return std::nullopt;
  auto origin = headers.get("Origin");
  if (!origin || origin->empty()) return std::nullopt;
  for (const auto& entry : allowed) {
    if (entry == "*" || entry == *origin) return std::string(*origin);
  }
  return std::nullopt;
}

void add_cors_headers(Response& response, const std::string& origin) {
  response.set_header("Access-Control-Allow-Origin", origin);
  response.set_header("Vary", "Origin");
  response.set_header("Access-Control-Expose-Headers", std::string(kCorsExposedHeaders));
}

bool valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxRequestIdLength) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// Bounded label values: unknown methods are "OTHER".
std::string metric_method(std::string_view method) {
  for (std::string_view known : {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
    if (method == known) return std::string(known);
  }
  return "OTHER";
}

beast::string_view to_beast(std::string_view text) { return {text.data(), text.size()}; }
std::string_view to_std(beast::string_view text) { return {text.data(), text.size()}; }

bool safe_header_text(std::string_view text) {
  return text.find_first_of("\r\n") == std::string_view::npos && text.find('\0') == std::string_view::npos;
}

bool is_http_parse_error(const beast::error_code& ec) {
  return &ec.category() == &bhttp::make_error_code(bhttp::error::bad_target).category() &&
         ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
}

// How a connection ends.
enum class Ending {
  keep_alive,  // serve the next request
  graceful,    // after a Connection: close response: TLS close_notify, then close
  linger,      // after an error response the client may still be sending: half-close, drain, close
  abort,       // the peer is gone or timed out: close
};

class ConnectionBase {
 public:
  virtual ~ConnectionBase() = default;
  virtual void close_if_idle() = 0;  // thread-safe
  virtual void close_now() = 0;      // thread-safe
};

}  // namespace

struct Server::Impl {
  ServerOptions options;
  Router router;
  std::shared_ptr<Metrics> metrics;
  prometheus::Family<prometheus::Counter>* requests = nullptr;
  prometheus::Family<prometheus::Histogram>* durations = nullptr;
  prometheus::Gauge* connections_gauge = nullptr;
  prometheus::Counter* handshake_failures = nullptr;

  std::atomic<bool> ready{true};
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> in_flight{0};
  std::uint16_t bound_port = 0;

  enum class State { idle, running, stopping, stopped };
  std::mutex state_mutex;
  std::condition_variable state_changed;
  State state = State::idle;

  // Live connections (registered by their constructor, removed by their destructor).
  std::mutex connections_mutex;
  std::condition_variable connections_changed;
  std::unordered_map<ConnectionBase*, std::weak_ptr<ConnectionBase>> connections;

  // Declared before io: connections hold references to these and may be destroyed with io.
  std::unique_ptr<asio::ssl::context> ssl_context;
  std::unique_ptr<asio::thread_pool> handler_pool;
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::optional<tcp::acceptor> acceptor;
  std::vector<std::thread> io_threads;

  Impl(ServerOptions o, Router r, std::shared_ptr<Metrics> m)
      : options(std::move(o)), router(std::move(r)), metrics(m ? std::move(m) : std::make_shared<Metrics>()) {}

  void add_builtin_routes();
  void register_metrics();
  void record(std::string_view method, std::string_view route, int status, SteadyClock::duration duration,
              const std::string& request_id, std::size_t bytes_out, std::size_t bytes_in);
  std::size_t connection_count() {
    std::lock_guard lock(connections_mutex);
    return connections.size();
  }
  template <class Stream>
  void launch(Stream stream, std::string remote);
  void stop(std::chrono::milliseconds grace);
};

namespace {

template <class Stream>
class Connection final : public ConnectionBase, public std::enable_shared_from_this<Connection<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  Connection(Server::Impl& server, Stream stream, std::string remote)
      : server_(server), stream_(std::move(stream)), remote_(std::move(remote)) {
    server_.connections_gauge->Increment();
  }

  ~Connection() override {
    server_.connections_gauge->Decrement();
    {
      std::lock_guard lock(server_.connections_mutex);
      server_.connections.erase(this);
    }
    server_.connections_changed.notify_all();
  }

  void close_if_idle() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
      if (self->idle_) self->close_socket();
    });
  }

  void close_now() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] { self->close_socket(); });
  }

  auto executor() { return stream_.get_executor(); }

  // The connection's coroutine; holds the connection alive until it returns.
  static asio::awaitable<void> run(std::shared_ptr<Connection> self) {
    try {
      co_await self->serve();
    } catch (const std::exception& error) {
      log::error("connection failed", {{"exception", error.what()}});
    }
    self->close_socket();
  }

 private:
  beast::tcp_stream& tcp() { return beast::get_lowest_layer(stream_); }

  void close_socket() {
    beast::error_code ignored;
    tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    tcp().close();
  }

  asio::awaitable<void> serve() {
    beast::error_code ec;
    const auto& options = server_.options;
    if constexpr (kTls) {
      tcp().expires_after(options.request_timeout);
      co_await stream_.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        server_.handshake_failures->Increment();
        log::debug("TLS handshake failed", {{"remote_address", remote_}, {"reason", ec.message()}});
        co_return;
      }
      peer_ = tls::peer_certificate(stream_.native_handle());
    }
    Ending ending = Ending::keep_alive;
    while (ending == Ending::keep_alive) {
      if (buffer_.size() == 0) {
        // Idle between requests: wait for the first byte of the next one.
        if (server_.stopping) co_return;
        idle_ = true;
        tcp().expires_after(options.idle_timeout);
        std::size_t received =
            co_await stream_.async_read_some(buffer_.prepare(kReadChunk), asio::redirect_error(asio::use_awaitable, ec));
        idle_ = false;
        if (ec) co_return;  // closed by the peer, idle timeout, or stop()
        buffer_.commit(received);
      }
      ending = co_await serve_request();
    }
    if (ending == Ending::graceful) {
      if constexpr (kTls) {
        tcp().expires_after(kCloseTimeout);
        co_await stream_.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
      }
    } else if (ending == Ending::linger) {
      // Half-close, then read and drop what the client still sends, so that closing does not
      // reset the connection before the client has read the error response.
      tcp().socket().shutdown(tcp::socket::shutdown_send, ec);
      std::size_t drained = 0;
      std::array<char, 4096> scratch;
      tcp().expires_after(kCloseTimeout);
      while (drained < kLingerBytes) {
        std::size_t n = co_await tcp().async_read_some(asio::buffer(scratch), asio::redirect_error(asio::use_awaitable, ec));
        if (ec) break;
        drained += n;
      }
    }
  }

  // Reads one request (its first bytes are in buffer_), answers it, says how to go on.
  asio::awaitable<Ending> serve_request() {
    const auto& options = server_.options;
    beast::error_code ec;
    const auto started = SteadyClock::now();
    tcp().expires_at(started + options.request_timeout);

    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(options.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
    parser.body_limit(static_cast<std::uint64_t>(options.max_body_bytes));
    co_await bhttp::async_read_header(stream_, buffer_, parser, asio::redirect_error(asio::use_awaitable, ec));
    if (!ec && !parser.is_done()) {
      auto expect = parser.get()[bhttp::field::expect];
      if (iequals(to_std(expect), "100-continue")) {
        bhttp::response<bhttp::empty_body> go_on{bhttp::status::continue_, 11};
        co_await bhttp::async_write(stream_, go_on, asio::redirect_error(asio::use_awaitable, ec));
      }
      if (!ec) co_await bhttp::async_read(stream_, buffer_, parser, asio::redirect_error(asio::use_awaitable, ec));
    }
    if (ec) {
      std::string method(parser.is_header_done() ? to_std(parser.get().method_string()) : std::string_view());
      std::optional<Error> error;
      if (ec == bhttp::error::header_limit) {
        error = Error{ErrorCode::header_too_large, "the request header exceeds " + std::to_string(options.max_header_bytes) + " bytes"};
      } else if (ec == bhttp::error::body_limit) {
        error = Error{ErrorCode::payload_too_large, "the request body exceeds " + std::to_string(options.max_body_bytes) + " bytes"};
      } else if (is_http_parse_error(ec)) {
        error = Error{ErrorCode::bad_request, "malformed HTTP request"};
      } else if (ec == beast::error::timeout) {
        // Beast closed the socket: nothing can be sent; counted as 408.
        server_.record(method, kUnmatchedRoute, http_status(ErrorCode::request_timeout), SteadyClock::now() - started,
                       {}, 0, 0);
        co_return Ending::abort;
      }
      if (!error) {
        log::debug("connection ended mid-request", {{"reason", ec.message()}});
        co_return Ending::abort;  // the peer went away
      }
      auto request_id = new_request_id();
      auto response = problem_response(*error, request_id, {});
      server_.record(method, kUnmatchedRoute, response.status, SteadyClock::now() - started, request_id,
                     response.body.size(), 0);
      bool written = co_await write(std::move(response), request_id, false, false);
      co_return written ? Ending::linger : Ending::abort;
    }

    auto& message = parser.get();
    Request request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    for (const auto& field : message) {
      request.headers.add(std::string(field.name_string()), std::string(field.value()));
    }
    auto client_id = request.headers.get(kRequestIdHeader);
    request.request_id = client_id && valid_request_id(*client_id) ? std::string(*client_id) : new_request_id();
    const bool head = message.method() == bhttp::verb::head;
    const bool keep_alive = message.keep_alive();
    const std::size_t bytes_in = message.body().size();

    if (request.target.empty() || request.target.front() != '/') {
      auto response = problem_response(Error{ErrorCode::bad_request, "the request target must be a path"},
                                       request.request_id, {});
      server_.record(request.method, kUnmatchedRoute, response.status, SteadyClock::now() - started,
                     request.request_id, response.body.size(), bytes_in);
      bool written = co_await write(std::move(response), request.request_id, false, head);
      co_return written ? Ending::linger : Ending::abort;
    }
    auto question = request.target.find('?');
    request.path = request.target.substr(0, question);
    if (question != std::string::npos) request.query = parse_query(std::string_view(request.target).substr(question + 1));
    request.body = std::move(message.body());
    request.remote_address = remote_;
    request.peer = peer_;

    Response response;
    std::string route;
    const bool builtin = (request.method == "GET" || head) &&
                         (request.path == "/healthz" || request.path == "/readyz" || request.path == "/metrics");
    const auto cors_origin = admitted_origin(options.cors_allowed_origins, request.headers);
    const bool preflight = request.method == "OPTIONS" && !options.cors_allowed_origins.empty() &&
                           request.headers.get("Access-Control-Request-Method").has_value();
    if (preflight) {
      route = std::string(kPreflightRoute);
      if (!cors_origin) {
        response = problem_response(Error{ErrorCode::forbidden, "this origin is not allowed (CORS)"}, request.request_id,
                                    request.path);
      } else {
        std::string methods;
        for (const auto& method : server_.router.allowed_methods(request.path)) {
          methods += (methods.empty() ? "" : ", ") + method;
        }
        response.status = 204;
        response.set_header("Access-Control-Allow-Methods", methods);
        response.set_header("Access-Control-Allow-Headers", std::string(kCorsAllowedHeaders));
        response.set_header("Access-Control-Max-Age", std::string(kCorsMaxAge));
      }
    } else if (builtin) {
      response = server_.router.handle(request, &route);
    } else if (server_.in_flight.fetch_add(1) >= options.max_in_flight) {
      server_.in_flight.fetch_sub(1);
      response = problem_response(Error{ErrorCode::too_many_requests, "too many requests in progress"},
                                  request.request_id, request.path);
      response.set_header("Retry-After", "1");
    } else {
      tcp().expires_never();  // no socket operation while the handler runs
      try {
        response = co_await asio::co_spawn(
            server_.handler_pool->get_executor(),
            [&]() -> asio::awaitable<Response> { co_return server_.router.handle(request, &route); },
            asio::use_awaitable);
      } catch (const std::exception& error) {
        log::error("handler dispatch failed", {{"request_id", request.request_id}, {"exception", error.what()}});
        response = problem_response(Error{ErrorCode::internal}, request.request_id, request.path);
      }
      server_.in_flight.fetch_sub(1);
    }
    if (response.status < 100 || response.status > 599) response.status = 500;
    if (cors_origin) add_cors_headers(response, *cors_origin);
    server_.record(request.method, route.empty() ? kUnmatchedRoute : std::string_view(route), response.status,
                   SteadyClock::now() - started, request.request_id, head ? 0 : response.body.size(), bytes_in);
    const bool again = keep_alive && !server_.stopping;
    bool written = co_await write(std::move(response), request.request_id, again, head);
    if (!written) co_return Ending::abort;
    co_return again ? Ending::keep_alive : Ending::graceful;
  }

  asio::awaitable<bool> write(Response response, const std::string& request_id, bool keep_alive, bool head) {
    bhttp::response<bhttp::string_body> out;
    out.version(11);
    out.result(static_cast<unsigned>(response.status));
    bool cache_control = false;
    for (const auto& [name, value] : response.headers) {
      if (name.empty() || !safe_header_text(name) || !safe_header_text(value)) continue;
      if (iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding") || iequals(name, "Connection") ||
          iequals(name, kRequestIdHeader) || iequals(name, "Server")) {
        continue;
      }
      cache_control = cache_control || iequals(name, "Cache-Control");
      out.insert(to_beast(name), to_beast(value));
    }
    out.set(to_beast(kRequestIdHeader), request_id);
    out.set("X-Content-Type-Options", "nosniff");
    if (!cache_control) out.set(bhttp::field::cache_control, "no-store");
    if constexpr (kTls) out.set(bhttp::field::strict_transport_security, to_beast(kHsts));
    out.keep_alive(keep_alive);
    const int status = response.status;
    if (status < 200 || status == 204 || status == 304) {
      // No body, no Content-Length.
    } else if (head) {
      out.content_length(response.body.size());
    } else {
      out.body() = std::move(response.body);
      out.content_length(out.body().size());
    }
    beast::error_code ec;
    tcp().expires_after(server_.options.request_timeout);
    co_await bhttp::async_write(stream_, out, asio::redirect_error(asio::use_awaitable, ec));
    co_return !ec;
  }

  Server::Impl& server_;
  Stream stream_;
  std::string remote_;
  beast::flat_buffer buffer_;
  std::optional<PeerCertificate> peer_;
  bool idle_ = false;  // only touched on the connection's strand
};

asio::awaitable<void> accept_loop(Server::Impl& server) {
  auto& acceptor = *server.acceptor;
  for (;;) {
    beast::error_code ec;
    asio::any_io_executor strand = asio::make_strand(server.io);
    tcp::socket socket = co_await acceptor.async_accept(strand, asio::redirect_error(asio::use_awaitable, ec));
    if (server.stopping || ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      // Out of descriptors and the like: back off instead of spinning.
      log::warn("accept failed", {{"reason", ec.message()}});
      asio::steady_timer timer(acceptor.get_executor(), kAcceptRetryDelay);
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    if (server.connection_count() >= server.options.max_connections) {
      log::warn("connection refused: at max_connections", {{"max_connections", server.options.max_connections}});
      socket.close(ec);
      continue;
    }
    auto endpoint = socket.remote_endpoint(ec);
    std::string remote = ec ? std::string() : endpoint.address().to_string();
    socket.set_option(tcp::no_delay(true), ec);
    if (server.options.plaintext) {
      server.launch(PlainStream(std::move(socket)), std::move(remote));
    } else {
      server.launch(TlsStream(PlainStream(std::move(socket)), *server.ssl_context), std::move(remote));
    }
  }
}

}  // namespace

template <class Stream>
void Server::Impl::launch(Stream stream, std::string remote) {
  auto connection = std::make_shared<Connection<Stream>>(*this, std::move(stream), std::move(remote));
  {
    std::lock_guard lock(connections_mutex);
    connections.emplace(connection.get(), connection);
  }
  auto executor = connection->executor();
  asio::co_spawn(executor, Connection<Stream>::run(std::move(connection)), asio::detached);
}

void Server::Impl::register_metrics() {
  auto& registry = metrics->registry();
  requests = &prometheus::BuildCounter()
                  .Name("cloister_http_requests_total")
                  .Help("HTTP requests answered, by method, route pattern and status")
                  .Register(registry);
  durations = &prometheus::BuildHistogram()
                   .Name("cloister_http_request_duration_seconds")
                   .Help("Time from a request's first byte to its response, by route pattern")
                   .Register(registry);
  connections_gauge = &prometheus::BuildGauge()
                           .Name("cloister_http_connections_active")
                           .Help("Open client connections")
                           .Register(registry)
                           .Add({});
  handshake_failures = &prometheus::BuildCounter()
                            .Name("cloister_http_tls_handshake_failures_total")
                            .Help("TLS handshakes that failed or timed out")
                            .Register(registry)
                            .Add({});
}

void Server::Impl::add_builtin_routes() {
  router.add(
      "GET", "/healthz", [](const Request&) -> Result<Response> { return json_response(200, {{"status", "ok"}}); },
      "Liveness: 200 while the process serves requests");
  router.add(
      "GET", "/readyz",
      [this](const Request&) -> Result<Response> {
        if (!ready) return fail(ErrorCode::unavailable, stopping ? "shutting down" : "not ready");
        return json_response(200, {{"status", "ready"}});
      },
      "Readiness: 200 when ready for traffic, 503 unavailable otherwise");
  router.add(
      "GET", "/metrics",
      [this](const Request&) -> Result<Response> {
        return text_response(200, metrics->serialize(), "text/plain; version=0.0.4; charset=utf-8");
      },
      "Prometheus metrics, text exposition format 0.0.4");
}

void Server::Impl::record(std::string_view method, std::string_view route, int status, SteadyClock::duration duration,
                          const std::string& request_id, std::size_t bytes_out, std::size_t bytes_in) {
  const double seconds = std::chrono::duration<double>(duration).count();
  std::string route_label(route);
  requests->Add({{"method", metric_method(method)}, {"route", route_label}, {"status", std::to_string(status)}})
      .Increment();
  durations->Add({{"route", route_label}}, duration_buckets()).Observe(seconds);
  nlohmann::json fields = {{"method", metric_method(method)},
                           {"route", route_label},
                           {"status", status},
                           {"duration_ms", std::round(seconds * 1e6) / 1e3},
                           {"request_id", request_id},
                           {"bytes", bytes_out},
                           {"bytes_in", bytes_in}};
  if (!options.service_name.empty()) fields["server"] = options.service_name;
  log::info("http request", fields);
}

void Server::Impl::stop(std::chrono::milliseconds grace) {
  {
    std::unique_lock lock(state_mutex);
    if (state == State::idle) {
      state = State::stopped;
      state_changed.notify_all();
      return;
    }
    if (state != State::running) {
      state_changed.wait(lock, [&] { return state == State::stopped; });
      return;
    }
    state = State::stopping;
  }
  stopping = true;
  ready = false;
  asio::post(acceptor->get_executor(), [this] {
    beast::error_code ignored;
    acceptor->close(ignored);
  });
  auto each_connection = [this](auto&& action) {
    std::vector<std::shared_ptr<ConnectionBase>> live;
    {
      std::lock_guard lock(connections_mutex);
      for (auto& [pointer, weak] : connections) {
        if (auto connection = weak.lock()) live.push_back(std::move(connection));
      }
    }
    for (auto& connection : live) action(*connection);
  };
  each_connection([](ConnectionBase& connection) { connection.close_if_idle(); });
  {
    std::unique_lock lock(connections_mutex);
    connections_changed.wait_for(lock, grace, [&] { return connections.empty(); });
  }
  each_connection([](ConnectionBase& connection) { connection.close_now(); });
  handler_pool->join();  // handlers cannot be interrupted: wait for those still running
  work.reset();
  {
    std::unique_lock lock(connections_mutex);
    connections_changed.wait_for(lock, kFinalDrainTimeout, [&] { return connections.empty(); });
  }
  io.stop();
  for (auto& thread : io_threads) {
    if (thread.joinable()) thread.join();
  }
  io_threads.clear();
  log::info("server stopped", {{"port", bound_port}});
  {
    std::lock_guard lock(state_mutex);
    state = State::stopped;
  }
  state_changed.notify_all();
}

Server::Server(ServerOptions options, Router router, std::shared_ptr<Metrics> metrics)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(router), std::move(metrics))) {
  impl_->add_builtin_routes();
  impl_->register_metrics();
}

Server::~Server() { stop(std::chrono::milliseconds(0)); }

Status Server::start() {
  auto& impl = *impl_;
  {
    std::lock_guard lock(impl.state_mutex);
    if (impl.state != Impl::State::idle) return fail(ErrorCode::internal, "the server was already started");
  }
  const auto& options = impl.options;
  if (!options.plaintext) {
    impl.ssl_context = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    if (auto status = tls::configure_server_context(impl.ssl_context->native_handle(), options.tls); !status) {
      return status;
    }
    // The certificate's end of validity, for the alert that fires before it lapses.
    if (const X509* leaf = SSL_CTX_get0_certificate(impl.ssl_context->native_handle())) {
      std::tm end{};
      if (ASN1_TIME_to_tm(X509_get0_notAfter(leaf), &end) == 1) {
        prometheus::BuildGauge()
            .Name("cloister_tls_certificate_expiry_timestamp_seconds")
            .Help("When this server's TLS certificate expires (notAfter), Unix seconds")
            .Register(impl.metrics->registry())
            .Add({})
            .Set(static_cast<double>(timegm(&end)));
      }
    }
  }
  beast::error_code ec;
  tcp::endpoint endpoint;
  auto address = asio::ip::make_address(options.host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(address, options.port);
  } else {
    tcp::resolver resolver(impl.io);
    auto results = resolver.resolve(options.host, std::to_string(options.port), ec);
    if (ec || results.empty()) return fail(ErrorCode::config_invalid, "cannot resolve listen host " + options.host);
    endpoint = results.begin()->endpoint();
  }
  const std::string where = options.host + ":" + std::to_string(options.port);
  impl.acceptor.emplace(asio::make_strand(impl.io));
  auto& acceptor = *impl.acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    acceptor.close(ec);
    impl.acceptor.reset();
    return fail(ErrorCode::io_error, "listen on " + where + ": " + ec.message());
  }
  impl.bound_port = acceptor.local_endpoint(ec).port();
  impl.handler_pool = std::make_unique<asio::thread_pool>(static_cast<std::size_t>(std::max(1, options.handler_threads)));
  impl.work.emplace(impl.io.get_executor());
  asio::co_spawn(acceptor.get_executor(), accept_loop(impl), asio::detached);
  for (int i = 0; i < std::max(1, options.threads); ++i) {
    impl.io_threads.emplace_back([&impl] {
      for (;;) {
        try {
          impl.io.run();
          return;
        } catch (const std::exception& error) {
          log::error("I/O thread caught an exception", {{"exception", error.what()}});
        }
      }
    });
  }
  {
    std::lock_guard lock(impl.state_mutex);
    impl.state = Impl::State::running;
  }
  log::info("server listening", {{"server", options.service_name},
                                 {"host", options.host},
                                 {"port", impl.bound_port},
                                 {"tls", !options.plaintext},
                                 {"client_certificates", !options.plaintext && !options.tls.client_ca_pem.empty()}});
  return {};
}

std::uint16_t Server::port() const { return impl_->bound_port; }
void Server::set_ready(bool ready) { impl_->ready = ready; }
bool Server::ready() const { return impl_->ready; }
Metrics& Server::metrics() { return *impl_->metrics; }
void Server::stop(std::chrono::milliseconds grace) { impl_->stop(grace); }

void Server::wait() {
  std::unique_lock lock(impl_->state_mutex);
  impl_->state_changed.wait(lock, [&] {
    return impl_->state == Impl::State::idle || impl_->state == Impl::State::stopped;
  });
}

}  // namespace cloister::http

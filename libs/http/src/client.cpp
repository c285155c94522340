// The HTTPS client: one io_context and one connection per call, run on the caller's thread.

#include "cloister/http/client.h"

#include "cloister/core/log.h"
#include "tls.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <thread>

namespace cloister::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

constexpr std::uint32_t kMaxResponseHeaderBytes = 64 * 1024;
constexpr auto kFirstBackoff = std::chrono::milliseconds(50);

struct Url {
  bool tls = true;
  std::string host;  // without brackets
  bool host_is_ip = false;
  std::uint16_t port = 443;
  std::string target;     // origin-form
  std::string host_header;
};

Result<Url> parse_url(std::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return fail(ErrorCode::invalid_argument, "the URL contains whitespace or control characters");
    }
  }
  Url url;
  if (text.starts_with("https://")) {
    text.remove_prefix(8);
  } else if (text.starts_with("http://")) {
    url.tls = false;
    url.port = 80;
    text.remove_prefix(7);
  } else {
    return fail(ErrorCode::invalid_argument, "the URL scheme must be https (or http with plaintext)");
  }
  auto authority_end = text.find_first_of("/?#");
  auto authority = text.substr(0, authority_end);
  std::string_view rest = authority_end == std::string_view::npos ? std::string_view() : text.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) return fail(ErrorCode::invalid_argument, "user info in URLs is not supported");
  std::string_view host;
  std::string_view port;
  if (authority.starts_with('[')) {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return fail(ErrorCode::invalid_argument, "unterminated IPv6 address in URL");
    host = authority.substr(1, close - 1);
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail(ErrorCode::invalid_argument, "malformed URL authority");
      port = after.substr(1);
    }
  } else {
    auto colon = authority.rfind(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (host.empty()) return fail(ErrorCode::invalid_argument, "the URL has no host");
  if (!port.empty() || authority.ends_with(':')) {
    unsigned value = 0;
    auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || error != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return fail(ErrorCode::invalid_argument, "bad port in URL");
    }
    url.port = static_cast<std::uint16_t>(value);
  }
  url.host = std::string(host);
  beast::error_code ec;
  auto address = asio::ip::make_address(url.host, ec);
  url.host_is_ip = !ec;
  if (!url.host_is_ip && url.host.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") !=
                             std::string::npos) {
    return fail(ErrorCode::invalid_argument, "bad host name in URL");
  }
  if (auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  url.target = rest.empty() ? "/" : std::string(rest);
  if (url.target.front() == '?') url.target.insert(0, "/");
  url.host_header = url.host_is_ip && address.is_v6() ? "[" + url.host + "]" : url.host;
  if (url.port != (url.tls ? 443 : 80)) url.host_header += ":" + std::to_string(url.port);
  return url;
}

beast::string_view to_beast(std::string_view text) { return {text.data(), text.size()}; }

bool idempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" || method == "OPTIONS";
}

bool valid_token(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

// One attempt's outcome: the response, or an error and whether another attempt may help.
struct Attempt {
  Result<Response> result = fail(ErrorCode::upstream_failed, "no attempt made");
  bool retryable = false;
};

Attempt failed(ErrorCode code, std::string detail, bool retryable) {
  return Attempt{fail(code, std::move(detail)), retryable};
}

bool connection_level(const beast::error_code& ec) {
  return ec == asio::error::connection_refused || ec == asio::error::connection_reset ||
         ec == asio::error::connection_aborted || ec == asio::error::host_unreachable ||
         ec == asio::error::network_unreachable || ec == asio::error::eof || ec == bhttp::error::end_of_stream ||
         ec == asio::error::broken_pipe || ec == beast::error::timeout;
}

}  // namespace

struct Client::Impl {
  ClientOptions options;
  std::unique_ptr<asio::ssl::context> ssl_context;
  Status configured;

  explicit Impl(ClientOptions o) : options(std::move(o)) {
    ssl_context = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    configured = tls::configure_client_context(ssl_context->native_handle(), options);
    if (!configured) log::error("HTTP client configuration failed", {{"reason", configured.error().to_string()}});
  }

  Attempt attempt(std::string_view method, const Url& url, const HeaderList& headers, const std::string& body) const;

  template <class Stream>
  asio::awaitable<Attempt> exchange(Stream& stream, bhttp::request<bhttp::string_body>& request) const;
  asio::awaitable<Attempt> run(const Url& url, bhttp::request<bhttp::string_body>& request) const;
};

template <class Stream>
asio::awaitable<Attempt> Client::Impl::exchange(Stream& stream, bhttp::request<bhttp::string_body>& request) const {
  beast::error_code ec;
  auto& tcp_stream = beast::get_lowest_layer(stream);
  tcp_stream.expires_after(options.request_timeout);
  co_await bhttp::async_write(stream, request, asio::redirect_error(asio::use_awaitable, ec));
  // A server may answer (e.g. 413) and close before reading the whole body: still read its answer.
  const bool write_failed = static_cast<bool>(ec);
  if (ec == beast::error::timeout) co_return failed(ErrorCode::upstream_timeout, "sending the request timed out", false);
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.header_limit(kMaxResponseHeaderBytes);
  parser.body_limit(static_cast<std::uint64_t>(options.max_response_bytes));
  if (request.method() == bhttp::verb::head) parser.skip(true);
  co_await bhttp::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    if (ec == beast::error::timeout) co_return failed(ErrorCode::upstream_timeout, "the response did not arrive in time", false);
    if (ec == bhttp::error::body_limit) co_return failed(ErrorCode::upstream_failed, "the response body exceeds the limit", false);
    const bool nothing_received = !parser.got_some();
    std::string reason = write_failed ? "the connection failed while sending the request" : "reading the response failed";
    if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
      // E.g. the server refused our certificate after a TLS 1.3 handshake.
      if (&ec.category() == &asio::error::get_ssl_category()) reason = "TLS";
    }
    co_return failed(ErrorCode::upstream_failed, reason + ": " + ec.message(), nothing_received && connection_level(ec));
  }
  auto& message = parser.get();
  Response response;
  response.status = static_cast<int>(message.result_int());
  for (const auto& field : message) response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  response.body = std::move(message.body());
  co_return Attempt{std::move(response), false};
}

asio::awaitable<Attempt> Client::Impl::run(const Url& url, bhttp::request<bhttp::string_body>& request) const {
  auto executor = co_await asio::this_coro::executor;
  beast::error_code ec;
  beast::tcp_stream tcp_stream(executor);
  tcp_stream.expires_after(options.connect_timeout);
  if (url.host_is_ip) {
    tcp::endpoint endpoint(asio::ip::make_address(url.host), url.port);
    co_await tcp_stream.async_connect(endpoint, asio::redirect_error(asio::use_awaitable, ec));
  } else {
    tcp::resolver resolver(executor);
    asio::steady_timer resolve_deadline(executor, options.connect_timeout);
    resolve_deadline.async_wait([&resolver](const beast::error_code& wait_error) {
      if (!wait_error) resolver.cancel();
    });
    auto endpoints = co_await resolver.async_resolve(url.host, std::to_string(url.port),
                                                     asio::redirect_error(asio::use_awaitable, ec));
    resolve_deadline.cancel();
    if (ec == asio::error::operation_aborted) co_return failed(ErrorCode::upstream_timeout, "resolving " + url.host + " timed out", true);
    if (ec) co_return failed(ErrorCode::upstream_failed, "cannot resolve " + url.host + ": " + ec.message(), true);
    co_await tcp_stream.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
  }
  if (ec == beast::error::timeout) co_return failed(ErrorCode::upstream_timeout, "connecting timed out", true);
  if (ec) co_return failed(ErrorCode::upstream_failed, "connecting failed: " + ec.message(), connection_level(ec));
  tcp_stream.socket().set_option(tcp::no_delay(true), ec);
  if (!url.tls) co_return co_await exchange(tcp_stream, request);

  beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp_stream), *ssl_context);
  if (auto status = tls::prepare_client_connection(stream.native_handle(), url.host, url.host_is_ip); !status) {
    co_return Attempt{std::unexpected(status.error()), false};
  }
  beast::get_lowest_layer(stream).expires_after(options.connect_timeout);
  co_await stream.async_handshake(asio::ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
  if (ec == beast::error::timeout) co_return failed(ErrorCode::upstream_timeout, "the TLS handshake timed out", true);
  if (ec) {
    auto verify = tls::verify_failure(stream.native_handle());
    std::string detail = "TLS handshake failed: " + (verify.empty() ? ec.message() : "server certificate: " + verify);
    co_return failed(ErrorCode::upstream_failed, std::move(detail), verify.empty() && connection_level(ec));
  }
  if (auto status = tls::check_spki_pins(stream.native_handle(), options.pinned_spki_sha256_hex); !status) {
    co_return Attempt{std::unexpected(status.error()), false};
  }
  co_return co_await exchange(stream, request);
}

Attempt Client::Impl::attempt(std::string_view method, const Url& url, const HeaderList& headers,
                              const std::string& body) const {
  bhttp::request<bhttp::string_body> request;
  request.version(11);
  auto verb = bhttp::string_to_verb(to_beast(method));
  if (verb == bhttp::verb::unknown) {
    request.method_string(to_beast(method));
  } else {
    request.method(verb);
  }
  request.target(url.target);
  request.set(bhttp::field::host, url.host_header);
  request.set(bhttp::field::user_agent, "cloister-http");
  for (const auto& [name, value] : headers) request.insert(to_beast(name), to_beast(value));
  request.keep_alive(false);
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    request.body() = body;
    request.prepare_payload();
  }

  asio::io_context io(1);
  Attempt outcome;
  asio::co_spawn(io, run(url, request), [&outcome](std::exception_ptr error, Attempt result) {
    if (error) {
      try {
        std::rethrow_exception(error);
      } catch (const std::exception& exception) {
        outcome = failed(ErrorCode::upstream_failed, std::string("client error: ") + exception.what(), false);
      } catch (...) {
        outcome = failed(ErrorCode::upstream_failed, "client error", false);
      }
      return;
    }
    outcome = std::move(result);
  });
  io.run();
  return outcome;
}

Client::Client(ClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Client::~Client() = default;
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;

Result<Response> Client::request(std::string_view method, std::string_view url, const HeaderList& headers,
                                 std::string body) const {
  if (!impl_->configured) return std::unexpected(impl_->configured.error());
  if (!valid_token(method)) return fail(ErrorCode::invalid_argument, "bad HTTP method");
  for (const auto& [name, value] : headers) {
    if (!valid_token(name) || value.find_first_of("\r\n") != std::string::npos || value.find('\0') != std::string::npos) {
      return fail(ErrorCode::invalid_argument, "bad header field");
    }
  }
  auto parsed = parse_url(url);
  if (!parsed) return std::unexpected(parsed.error());
  if (!parsed->tls && !impl_->options.plaintext) {
    return fail(ErrorCode::invalid_argument, "http:// URLs need ClientOptions::plaintext");
  }
  const int attempts = std::max(1, impl_->options.max_attempts);
  auto backoff = kFirstBackoff;
  for (int attempt = 1;; ++attempt) {
    auto outcome = impl_->attempt(method, *parsed, headers, body);
    if (outcome.result || !outcome.retryable || !idempotent(method) || attempt >= attempts) {
      return std::move(outcome.result);
    }
    std::this_thread::sleep_for(backoff);
    backoff *= 2;
  }
}

Result<Response> Client::get(std::string_view url, const HeaderList& headers) const {
  return request("GET", url, headers);
}

Result<Response> Client::post_json(std::string_view url, const nlohmann::json& body, const HeaderList& headers) const {
  HeaderList all = headers;
  bool has_type = std::any_of(all.begin(), all.end(), [](const auto& field) { return iequals(field.first, "Content-Type"); });
  if (!has_type) all.emplace_back("Content-Type", std::string(kJsonContentType));
  return request("POST", url, all, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace cloister::http

#include "keep_alive_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <stdexcept>

namespace cloister::bench {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

struct KeepAliveClient::Impl {
  net::io_context io;
  net::ssl::context tls{net::ssl::context::tls_client};
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> stream;
  std::string host;
  beast::flat_buffer buffer;

  Response exchange(bhttp::request<bhttp::string_body>& request) {
    request.set(bhttp::field::host, host);
    request.keep_alive(true);
    request.prepare_payload();
    bhttp::write(*stream, request);
    bhttp::response<bhttp::string_body> response;
    bhttp::read(*stream, buffer, response);
    if (!response.keep_alive()) throw std::runtime_error("the server closed the keep-alive connection");
    return Response{static_cast<int>(response.result_int()), std::move(response.body()),
                    std::string(response[bhttp::field::content_type])};
  }
};

KeepAliveClient::KeepAliveClient(const std::string& host, std::uint16_t port, const std::string& ca_pem,
                                 const std::string& client_certificate_pem, const std::string& client_key_pem)
    : impl_(std::make_unique<Impl>()) {
  impl_->host = host;
  impl_->tls.add_certificate_authority(net::buffer(ca_pem));
  if (!client_certificate_pem.empty()) {
    impl_->tls.use_certificate_chain(net::buffer(client_certificate_pem));
    impl_->tls.use_private_key(net::buffer(client_key_pem), net::ssl::context::pem);
  }
  impl_->tls.set_verify_mode(net::ssl::verify_peer);
  impl_->stream = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(impl_->io, impl_->tls);
  net::ip::tcp::resolver resolver(impl_->io);
  beast::get_lowest_layer(*impl_->stream).connect(resolver.resolve(host, std::to_string(port)));
  beast::get_lowest_layer(*impl_->stream).socket().set_option(net::ip::tcp::no_delay(true));
  impl_->stream->handshake(net::ssl::stream_base::client);
}

KeepAliveClient::~KeepAliveClient() {
  if (impl_ && impl_->stream) {
    beast::error_code ignored;
    impl_->stream->shutdown(ignored);
  }
}

KeepAliveClient::Response KeepAliveClient::post_json(const std::string& target, const std::string& body) {
  bhttp::request<bhttp::string_body> request{bhttp::verb::post, target, 11};
  request.set(bhttp::field::content_type, "application/json");
  request.body() = body;
  return impl_->exchange(request);
}

KeepAliveClient::Response KeepAliveClient::post(const std::string& target,
                                                const std::vector<std::pair<std::string, std::string>>& headers,
                                                const std::string& body) {
  bhttp::request<bhttp::string_body> request{bhttp::verb::post, target, 11};
  for (const auto& [name, value] : headers) request.set(name, value);
  request.body() = body;
  return impl_->exchange(request);
}

KeepAliveClient::Response KeepAliveClient::get(const std::string& target) {
  bhttp::request<bhttp::string_body> request{bhttp::verb::get, target, 11};
  return impl_->exchange(request);
}

}  // namespace cloister::bench

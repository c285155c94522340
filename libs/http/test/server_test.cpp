// The server over real TLS on 127.0.0.1, port 0, driven by the library's client and raw sockets.

#include "cloister/http/client.h"
#include "cloister/http/server.h"
#include "test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <future>
#include <stdexcept>
#include <thread>

namespace cloister::http {
namespace {

using namespace std::chrono_literals;
using testing::RawConnection;
using testing::TestPki;

struct Greeting {
  std::string name;
};
void from_json(const nlohmann::json& json, Greeting& greeting) { json.at("name").get_to(greeting.name); }
struct Reply {
  std::string message;
};
void to_json(nlohmann::json& json, const Reply& reply) { json = {{"message", reply.message}}; }

Router test_router() {
  Router router;
  router.add("GET", "/v1/items/{id}", [](const Request& request) -> Result<Response> {
    return json_response(200, {{"id", request.param("id")}, {"query", request.query}});
  });
  router.add("POST", "/v1/greet", json_handler<Greeting, Reply>([](const Request&, Greeting in) -> Result<Reply> {
               return Reply{"hello " + in.name};
             }));
  router.add("GET", "/v1/expired", [](const Request&) -> Result<Response> {
    return fail(ErrorCode::token_expired, "the token expired");
  });
  router.add("GET", "/v1/throws", [](const Request&) -> Result<Response> { throw std::logic_error("bug"); });
  router.add("POST", "/v1/upload", [](const Request& request) -> Result<Response> {
    return json_response(200, {{"bytes", request.body.size()}});
  });
  router.add("GET", "/v1/peer", [](const Request& request) -> Result<Response> {
    if (!request.peer) return json_response(200, {{"peer", nullptr}});
    return json_response(200, {{"subject", request.peer->subject},
                               {"spki_sha256", testing::sha256_hex(request.peer->spki_der)},
                               {"der_bytes", request.peer->der.size()}});
  });
  return router;
}

nlohmann::json body_of(const Result<Response>& response) { return nlohmann::json::parse(response->body); }

class ServerTest : public ::testing::Test {
 protected:
  void start(ServerOptions options = testing::tls_server_options(), Router router = test_router()) {
    metrics_ = std::make_shared<Metrics>();
    server_ = testing::start_server(std::move(options), std::move(router), metrics_);
  }
  void TearDown() override {
    if (server_) server_->stop(1s);
  }
  std::string url(std::string_view path) const { return testing::https_url(server_->port(), path); }

  Client client_{testing::tls_client_options()};
  std::shared_ptr<Metrics> metrics_;
  std::unique_ptr<Server> server_;
};

TEST_F(ServerTest, RoundTripOverTls) {
  start();
  auto response = client_.get(url("/v1/items/42?verbose=1&name=a%20b"));
  ASSERT_TRUE(response) << response.error().to_string();
  EXPECT_EQ(response->status, 200);
  auto body = body_of(response);
  EXPECT_EQ(body["id"], "42");
  EXPECT_EQ(body["query"]["verbose"], "1");
  EXPECT_EQ(body["query"]["name"], "a b");
  EXPECT_EQ(response->header("Content-Type"), "application/json");
  EXPECT_TRUE(response->header("X-Request-Id").has_value());
  EXPECT_EQ(response->header("Strict-Transport-Security"), "max-age=31536000");
  EXPECT_EQ(response->header("X-Content-Type-Options"), "nosniff");
  EXPECT_FALSE(response->header("Server").has_value());

  auto posted = client_.post_json(url("/v1/greet"), {{"name", "world"}});
  ASSERT_TRUE(posted) << posted.error().to_string();
  EXPECT_EQ(posted->status, 200);
  EXPECT_EQ(body_of(posted)["message"], "hello world");
}

TEST_F(ServerTest, BuiltInHealthReadinessAndMetrics) {
  start();
  auto health = client_.get(url("/healthz"));
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(body_of(health)["status"], "ok");

  EXPECT_EQ(client_.get(url("/readyz"))->status, 200);
  server_->set_ready(false);
  auto not_ready = client_.get(url("/readyz"));
  ASSERT_TRUE(not_ready);
  EXPECT_EQ(not_ready->status, 503);
  EXPECT_EQ(not_ready->header("Content-Type"), "application/problem+json");
  EXPECT_EQ(body_of(not_ready)["code"], "unavailable");
  server_->set_ready(true);
  EXPECT_EQ(client_.get(url("/readyz"))->status, 200);

  auto wrong_method = client_.request("POST", url("/healthz"));
  ASSERT_TRUE(wrong_method);
  EXPECT_EQ(wrong_method->status, 405);

  auto metrics = client_.get(url("/metrics"));
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_EQ(metrics->header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(metrics->body.find("cloister_http_requests_total"), std::string::npos);
}

TEST_F(ServerTest, MetricsLabelByRoutePatternNotRawPath) {
  start();
  ASSERT_EQ(client_.get(url("/v1/items/1"))->status, 200);
  ASSERT_EQ(client_.get(url("/v1/items/2"))->status, 200);
  ASSERT_EQ(client_.get(url("/no/such/path"))->status, 404);
  auto text = metrics_->serialize();
  EXPECT_NE(text.find(R"(cloister_http_requests_total{method="GET",route="/v1/items/{id}",status="200"} 2)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"x(route="(unmatched)",status="404")x"), std::string::npos) << text;
  EXPECT_EQ(text.find("/v1/items/1"), std::string::npos);
  EXPECT_EQ(text.find("/no/such/path"), std::string::npos);
  EXPECT_NE(text.find(R"(cloister_http_request_duration_seconds_count{route="/v1/items/{id}"} 2)"), std::string::npos);
  EXPECT_NE(text.find("cloister_http_connections_active"), std::string::npos);
  EXPECT_NE(text.find("cloister_http_tls_handshake_failures_total"), std::string::npos);
}

TEST_F(ServerTest, RequestIdIsHonouredOnlyWhenWellFormed) {
  start();
  auto echoed = client_.get(url("/healthz"), {{"X-Request-Id", "client-id_123"}});
  ASSERT_TRUE(echoed);
  EXPECT_EQ(echoed->header("x-request-id"), "client-id_123");

  for (std::string bad : {std::string(65, 'a'), std::string("has space"), std::string("semi;colon")}) {
    auto replaced = client_.get(url("/v1/expired"), {{"X-Request-Id", bad}});
    ASSERT_TRUE(replaced);
    auto id = std::string(replaced->header("X-Request-Id").value_or(""));
    EXPECT_FALSE(id.empty());
    EXPECT_NE(id, bad);
    EXPECT_EQ(body_of(replaced)["request_id"], id);
  }
}

TEST_F(ServerTest, UnknownRouteIs404AndWrongMethodIs405WithAllow) {
  start();
  auto missing = client_.get(url("/v1/nothing"));
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->header("Content-Type"), "application/problem+json");
  EXPECT_EQ(body_of(missing)["code"], "not_found");

  auto wrong = client_.request("DELETE", url("/v1/items/3"));
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 405);
  EXPECT_EQ(wrong->header("Allow"), "GET, HEAD");
  EXPECT_EQ(body_of(wrong)["code"], "method_not_allowed");
}

TEST_F(ServerTest, CorsAdmitsOnlyListedOriginsAndAnswersTheirPreflights) {
  auto options = testing::tls_server_options();
  options.cors_allowed_origins = {"https://portal.example:9000"};
  start(std::move(options));
  const HeaderList preflight_headers = {{"Origin", "https://portal.example:9000"},
                                        {"Access-Control-Request-Method", "POST"},
                                        {"Access-Control-Request-Headers", "content-type"}};
  auto preflight = client_.request("OPTIONS", url("/v1/upload"), preflight_headers);
  ASSERT_TRUE(preflight) << preflight.error().to_string();
  EXPECT_EQ(preflight->status, 204);
  EXPECT_EQ(preflight->header("Access-Control-Allow-Origin"), "https://portal.example:9000");
  EXPECT_EQ(preflight->header("Access-Control-Allow-Methods"), "POST");
  EXPECT_NE(preflight->header("Access-Control-Allow-Headers").value_or("").find("Content-Type"), std::string::npos);
  EXPECT_FALSE(preflight->header("Access-Control-Allow-Credentials"));

  // A simple request from the listed origin: allowed, with the headers a page may read.
  auto allowed = client_.get(url("/v1/items/7"), {{"Origin", "https://portal.example:9000"}});
  ASSERT_TRUE(allowed);
  EXPECT_EQ(allowed->status, 200);
  EXPECT_EQ(allowed->header("Access-Control-Allow-Origin"), "https://portal.example:9000");
  EXPECT_EQ(allowed->header("Vary"), "Origin");
  EXPECT_NE(allowed->header("Access-Control-Expose-Headers").value_or("").find("X-Request-Id"), std::string::npos);

  // Another origin: no CORS header (the browser refuses the answer); its preflight is refused.
  auto other = client_.get(url("/v1/items/7"), {{"Origin", "https://evil.example"}});
  ASSERT_TRUE(other);
  EXPECT_FALSE(other->header("Access-Control-Allow-Origin"));
  auto other_preflight = client_.request(
      "OPTIONS", url("/v1/upload"), {{"Origin", "https://evil.example"}, {"Access-Control-Request-Method", "POST"}});
  ASSERT_TRUE(other_preflight);
  EXPECT_EQ(other_preflight->status, 403);
  EXPECT_FALSE(other_preflight->header("Access-Control-Allow-Origin"));
  EXPECT_NE(metrics_->serialize().find(R"x(route="(preflight)")x"), std::string::npos);
}

TEST_F(ServerTest, WithoutCorsOriginsNoCorsHeaderAndOptionsIsNotAPreflight) {
  start();
  auto response = client_.get(url("/v1/items/7"), {{"Origin", "https://portal.example"}});
  ASSERT_TRUE(response);
  EXPECT_FALSE(response->header("Access-Control-Allow-Origin"));
  auto options = client_.request("OPTIONS", url("/v1/upload"),
                                 {{"Origin", "https://portal.example"}, {"Access-Control-Request-Method", "POST"}});
  ASSERT_TRUE(options);
  EXPECT_EQ(options->status, 405);
}

TEST_F(ServerTest, MetricsCarryTheCertificatesExpiry) {
  start();
  auto text = metrics_->serialize();
  const std::string name = "cloister_tls_certificate_expiry_timestamp_seconds ";
  auto at = text.find("\n" + name);
  ASSERT_NE(at, std::string::npos) << text;
  const double expiry = std::stod(text.substr(at + 1 + name.size()));
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  // The test PKI's server certificate is valid for days, not decades, and not yet expired.
  EXPECT_GT(expiry, static_cast<double>(now));
  EXPECT_LT(expiry, static_cast<double>(now + 20LL * 365 * 24 * 3600));
}

TEST_F(ServerTest, HandlerErrorAnswersTheTableStatusAndCode) {
  start();
  auto response = client_.get(url("/v1/expired"));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 401);
  auto body = body_of(response);
  EXPECT_EQ(body["code"], "token_expired");
  EXPECT_EQ(body["type"], "https://cloister.dev/errors/token_expired");
  EXPECT_EQ(body["instance"], "/v1/expired");
}

TEST_F(ServerTest, HandlerExceptionIs500WithTheRequestId) {
  start();
  auto response = client_.get(url("/v1/throws"));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 500);
  auto body = body_of(response);
  EXPECT_EQ(body["code"], "internal");
  EXPECT_EQ(body["request_id"], std::string(response->header("X-Request-Id").value_or("?")));
  // The server keeps serving.
  EXPECT_EQ(client_.get(url("/healthz"))->status, 200);
}

TEST_F(ServerTest, TypedJsonParsingErrorsAre400InvalidJson) {
  start();
  auto malformed = client_.request("POST", url("/v1/greet"), {{"Content-Type", "application/json"}}, "{not json");
  ASSERT_TRUE(malformed);
  EXPECT_EQ(malformed->status, 400);
  EXPECT_EQ(body_of(malformed)["code"], "invalid_json");

  auto missing_member = client_.post_json(url("/v1/greet"), {{"nom", "x"}});
  ASSERT_TRUE(missing_member);
  EXPECT_EQ(missing_member->status, 400);
  EXPECT_EQ(body_of(missing_member)["code"], "invalid_json");
}

TEST_F(ServerTest, BodyOverTheLimitIs413) {
  auto options = testing::tls_server_options();
  options.max_body_bytes = 1024;
  start(std::move(options));
  auto fits = client_.request("POST", url("/v1/upload"), {}, std::string(1024, 'x'));
  ASSERT_TRUE(fits) << fits.error().to_string();
  EXPECT_EQ(fits->status, 200);
  auto too_big = client_.request("POST", url("/v1/upload"), {}, std::string(64 * 1024, 'x'));
  ASSERT_TRUE(too_big) << too_big.error().to_string();
  EXPECT_EQ(too_big->status, 413);
  EXPECT_EQ(too_big->header("Content-Type"), "application/problem+json");
  EXPECT_EQ(body_of(too_big)["code"], "payload_too_large");
}

TEST_F(ServerTest, ChunkedBodyOverTheLimitIs413) {
  auto options = testing::tls_server_options();
  options.max_body_bytes = 1024;
  start(std::move(options));
  auto connection = RawConnection::open(server_->port(), true);
  ASSERT_TRUE(connection);
  std::string chunk(800, 'y');
  char size[16];
  std::snprintf(size, sizeof size, "%zx", chunk.size());
  std::string request = "POST /v1/upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i) request += std::string(size) + "\r\n" + chunk + "\r\n";
  request += "0\r\n\r\n";
  ASSERT_TRUE(connection->send(request));
  std::string received;
  connection->read_until(received, [](const std::string& text) { return text.find("}") != std::string::npos; });
  EXPECT_TRUE(received.starts_with("HTTP/1.1 413")) << received;
  EXPECT_NE(received.find("payload_too_large"), std::string::npos);
}

TEST_F(ServerTest, HeaderOverTheLimitIs431) {
  auto options = testing::tls_server_options();
  options.max_header_bytes = 2048;
  start(std::move(options));
  auto response = client_.get(url("/healthz"), {{"X-Padding", std::string(4096, 'p')}});
  ASSERT_TRUE(response) << response.error().to_string();
  EXPECT_EQ(response->status, 431);
  EXPECT_EQ(body_of(response)["code"], "header_too_large");
}

TEST_F(ServerTest, MalformedRequestIs400AndCloses) {
  start();
  auto connection = RawConnection::open(server_->port(), true);
  ASSERT_TRUE(connection);
  ASSERT_TRUE(connection->send("GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: nope\r\n\r\n"));
  std::string received;
  auto end = connection->read_until(received, [](const std::string&) { return false; });
  EXPECT_EQ(end, RawConnection::End::closed);
  EXPECT_TRUE(received.starts_with("HTTP/1.1 400")) << received;
  EXPECT_NE(received.find("bad_request"), std::string::npos);
}

TEST_F(ServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  start();
  auto connection = RawConnection::open(server_->port(), true);
  ASSERT_TRUE(connection);
  // One request, answered, then a second on the same connection...
  ASSERT_TRUE(connection->send("GET /v1/items/1 HTTP/1.1\r\nHost: t\r\n\r\n"));
  std::string received;
  auto end = connection->read_until(received, [](const std::string& text) { return text.find("\"1\"") != std::string::npos; });
  ASSERT_EQ(end, RawConnection::End::matched) << received;
  EXPECT_EQ(received.find("Connection: close"), std::string::npos);
  // ...then two pipelined, the last asking to close.
  ASSERT_TRUE(connection->send("GET /v1/items/2 HTTP/1.1\r\nHost: t\r\n\r\n"
                               "GET /v1/items/3 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
  end = connection->read_until(received, [](const std::string&) { return false; });
  EXPECT_EQ(end, RawConnection::End::closed);
  EXPECT_EQ(testing::count_occurrences(received, "HTTP/1.1 200 OK"), 3u) << received;
  EXPECT_NE(received.find("\"3\""), std::string::npos);
  EXPECT_NE(received.find("Connection: close"), std::string::npos);
}

TEST_F(ServerTest, IncompleteRequestIsClosedAfterRequestTimeout) {
  auto options = testing::tls_server_options();
  options.plaintext = true;
  options.request_timeout = 300ms;
  start(std::move(options));
  auto connection = RawConnection::open(server_->port(), false, 20s);
  ASSERT_TRUE(connection);
  // A slow client: the header never completes.
  ASSERT_TRUE(connection->send("GET /healthz HTTP/1.1\r\nHost: t\r\n"));
  std::string received;
  EXPECT_EQ(connection->read_until(received, [](const std::string&) { return false; }), RawConnection::End::closed);
  EXPECT_EQ(received, "");
  // Counted as 408 (the server may record it just after the client saw the close).
  bool counted = false;
  for (int i = 0; i < 400 && !counted; ++i) {
    counted = metrics_->serialize().find(R"(status="408")") != std::string::npos;
    if (!counted) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(counted);
}

TEST_F(ServerTest, IdleConnectionIsClosedAfterIdleTimeout) {
  auto options = testing::tls_server_options();
  options.idle_timeout = 300ms;
  start(std::move(options));
  auto connection = RawConnection::open(server_->port(), true, 20s);
  ASSERT_TRUE(connection);
  std::string received;
  EXPECT_EQ(connection->read_until(received, [](const std::string&) { return false; }), RawConnection::End::closed);
}

TEST_F(ServerTest, PlaintextServesWhenAskedExplicitly) {
  auto options = testing::tls_server_options();
  options.plaintext = true;
  start(std::move(options));
  auto client_options = testing::tls_client_options();
  client_options.plaintext = true;
  Client plain(client_options);
  auto response = plain.get(testing::http_url(server_->port(), "/healthz"));
  ASSERT_TRUE(response) << response.error().to_string();
  EXPECT_EQ(response->status, 200);
  EXPECT_FALSE(response->header("Strict-Transport-Security").has_value());
}

TEST_F(ServerTest, TooManyInFlightRequestsAre429) {
  std::promise<void> entered;
  std::promise<void> release;
  auto released = release.get_future().share();
  Router router;
  router.add("GET", "/slow", [&entered, released](const Request&) -> Result<Response> {
    entered.set_value();
    released.wait();
    return text_response(200, "done");
  });
  auto options = testing::tls_server_options();
  options.max_in_flight = 1;
  start(std::move(options), std::move(router));
  auto first = std::async(std::launch::async, [&] { return client_.get(url("/slow")); });
  ASSERT_EQ(entered.get_future().wait_for(20s), std::future_status::ready);
  auto second = client_.get(url("/slow"));
  release.set_value();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 429);
  EXPECT_EQ(second->header("Retry-After"), "1");
  EXPECT_EQ(body_of(second)["code"], "too_many_requests");
  // Probes are outside the limit.
  auto first_result = first.get();
  ASSERT_TRUE(first_result);
  EXPECT_EQ(first_result->status, 200);
  EXPECT_EQ(first_result->body, "done");
}

TEST_F(ServerTest, ProbesAnswerWhileHandlersAreBusy) {
  std::promise<void> entered;
  std::promise<void> release;
  auto released = release.get_future().share();
  Router router;
  router.add("GET", "/slow", [&entered, released](const Request&) -> Result<Response> {
    entered.set_value();
    released.wait();
    return text_response(200, "done");
  });
  auto options = testing::tls_server_options();
  options.max_in_flight = 1;
  options.handler_threads = 1;
  start(std::move(options), std::move(router));
  auto first = std::async(std::launch::async, [&] { return client_.get(url("/slow")); });
  ASSERT_EQ(entered.get_future().wait_for(20s), std::future_status::ready);
  auto health = client_.get(url("/healthz"));
  release.set_value();
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(first.get()->status, 200);
}

TEST_F(ServerTest, GracefulStopFinishesAnInFlightRequest) {
  std::promise<void> entered;
  std::promise<void> release;
  auto released = release.get_future().share();
  Router router;
  router.add("GET", "/slow", [&entered, released](const Request&) -> Result<Response> {
    entered.set_value();
    released.wait();
    return text_response(200, "finished");
  });
  start(testing::tls_server_options(), std::move(router));
  const auto port = server_->port();
  auto in_flight = std::async(std::launch::async, [&] { return client_.get(url("/slow")); });
  ASSERT_EQ(entered.get_future().wait_for(20s), std::future_status::ready);
  auto idle = RawConnection::open(port, true);  // an idle keep-alive connection is closed at once
  ASSERT_TRUE(idle);

  auto stopping = std::async(std::launch::async, [&] { server_->stop(20s); });
  for (int i = 0; i < 2000 && server_->ready(); ++i) std::this_thread::sleep_for(5ms);
  ASSERT_FALSE(server_->ready());
  std::string received;
  EXPECT_EQ(idle->read_until(received, [](const std::string&) { return false; }), RawConnection::End::closed);
  EXPECT_EQ(stopping.wait_for(0ms), std::future_status::timeout);  // still waiting for /slow

  release.set_value();
  auto response = in_flight.get();
  ASSERT_TRUE(response) << response.error().to_string();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "finished");
  EXPECT_EQ(response->header("Connection"), "close");
  ASSERT_EQ(stopping.wait_for(20s), std::future_status::ready);
  server_->wait();  // returns at once after stop

  auto client_options = testing::tls_client_options();
  client_options.max_attempts = 1;
  auto after = Client(client_options).get(testing::https_url(port, "/healthz"));
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().code, ErrorCode::upstream_failed);
}

TEST_F(ServerTest, WaitReturnsWhenAnotherThreadStops) {
  start();
  auto waiting = std::async(std::launch::async, [&] { server_->wait(); });
  EXPECT_EQ(waiting.wait_for(0ms), std::future_status::timeout);
  server_->stop(1s);
  EXPECT_EQ(waiting.wait_for(20s), std::future_status::ready);
}

class MutualTlsTest : public ServerTest {
 protected:
  ClientOptions client_with(const std::string& certificate, const std::string& key) {
    auto options = testing::tls_client_options();
    options.client_certificate_pem = certificate;
    options.client_private_key_pem = Sensitive<std::string>(key);
    options.max_attempts = 1;
    return options;
  }
  void start_mutual(bool required) {
    auto options = testing::tls_server_options();
    options.tls.client_ca_pem = TestPki::get().ca_pem;
    options.tls.require_client_certificate = required;
    start(std::move(options));
  }
};

TEST_F(MutualTlsTest, HandlerSeesThePeerCertificateAndItsKey) {
  start_mutual(false);
  const auto& pki = TestPki::get();
  Client client(client_with(pki.client_cert_pem, pki.client_key_pem));
  auto response = client.get(url("/v1/peer"));
  ASSERT_TRUE(response) << response.error().to_string();
  ASSERT_EQ(response->status, 200);
  auto body = body_of(response);
  EXPECT_EQ(body["subject"], "CN=platform,O=Cloister Test");
  auto expected = spki_sha256_hex_of_pem_certificate(pki.client_cert_pem);
  ASSERT_TRUE(expected);
  EXPECT_EQ(body["spki_sha256"], *expected);
  EXPECT_GT(body["der_bytes"].get<int>(), 100);

  // Optional mode: a client without a certificate is served, and the handler sees no peer.
  auto anonymous = client_.get(url("/v1/peer"));
  ASSERT_TRUE(anonymous);
  EXPECT_TRUE(body_of(anonymous)["peer"].is_null());
}

TEST_F(MutualTlsTest, OptionalModeStillRefusesACertificateFromAnotherCa) {
  start_mutual(false);
  const auto& pki = TestPki::get();
  Client intruder(client_with(pki.other_client_cert_pem, pki.other_client_key_pem));
  auto response = intruder.get(url("/v1/peer"));
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ErrorCode::upstream_failed);
}

TEST_F(MutualTlsTest, RequiredClientCertificateRefusesOthers) {
  start_mutual(true);
  const auto& pki = TestPki::get();
  auto anonymous = Client([] {
                     auto options = testing::tls_client_options();
                     options.max_attempts = 1;
                     return options;
                   }())
                       .get(url("/v1/peer"));
  ASSERT_FALSE(anonymous);
  EXPECT_EQ(anonymous.error().code, ErrorCode::upstream_failed);

  auto intruder = Client(client_with(pki.other_client_cert_pem, pki.other_client_key_pem)).get(url("/v1/peer"));
  ASSERT_FALSE(intruder);
  EXPECT_EQ(intruder.error().code, ErrorCode::upstream_failed);

  auto member = Client(client_with(pki.client_cert_pem, pki.client_key_pem)).get(url("/v1/peer"));
  ASSERT_TRUE(member) << member.error().to_string();
  EXPECT_EQ(member->status, 200);
  EXPECT_EQ(body_of(member)["subject"], "CN=platform,O=Cloister Test");

  // The server counts both refused handshakes (it may finish counting after the client gave up).
  double failures = 0;
  for (int i = 0; i < 400 && failures < 2; ++i) {
    failures = testing::metric_value(metrics_->serialize(), "cloister_http_tls_handshake_failures_total");
    if (failures < 2) std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(failures, 2);
}

TEST(ServerStart, ReportsConfigurationAndBindErrors) {
  const auto& pki = TestPki::get();
  {
    ServerOptions options;  // TLS without a certificate: plaintext is never implied
    Server server(options, Router{}, nullptr);
    auto started = server.start();
    ASSERT_FALSE(started);
    EXPECT_EQ(started.error().code, ErrorCode::config_invalid);
  }
  {
    auto options = testing::tls_server_options();
    options.tls.require_client_certificate = true;
    Server server(options, Router{}, nullptr);
    EXPECT_EQ(server.start().error().code, ErrorCode::config_invalid);
  }
  {
    auto options = testing::tls_server_options();
    options.tls.private_key_pem = Sensitive<std::string>(pki.client_key_pem);  // not the certificate's key
    Server server(options, Router{}, nullptr);
    EXPECT_EQ(server.start().error().code, ErrorCode::config_invalid);
  }
  {
    auto first = testing::start_server(testing::tls_server_options(), Router{});
    auto options = testing::tls_server_options();
    options.port = first->port();
    Server second(options, Router{}, nullptr);
    auto started = second.start();
    ASSERT_FALSE(started);
    EXPECT_EQ(started.error().code, ErrorCode::io_error);
    first->stop(1s);
  }
}

TEST(ServerRoutes, BuiltInsAreListedAndReserved) {
  Router router;
  router.add("GET", "/healthz", [](const Request&) -> Result<Response> { return text_response(200, "mine"); });
  EXPECT_THROW({ Server server(testing::tls_server_options(), router, nullptr); }, std::invalid_argument);
  Server server(testing::tls_server_options(), Router{}, nullptr);
  EXPECT_TRUE(server.ready());
}

}  // namespace
}  // namespace cloister::http

// The client against real TLS servers: trust, names, pins, timeouts, refusals.

#include "cloister/http/client.h"
#include "cloister/http/server.h"
#include "test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace cloister::http {
namespace {

using namespace std::chrono_literals;
using testing::TestPki;

Router hello_router() {
  Router router;
  router.add("GET", "/hello", [](const Request&) -> Result<Response> { return text_response(200, "hello"); });
  router.add("PUT", "/echo", [](const Request& request) -> Result<Response> {
    return json_response(200, {{"body", request.body},
                               {"x_custom", request.header("x-custom").value_or("")},
                               {"content_type", request.header("content-type").value_or("")}});
  });
  return router;
}

std::unique_ptr<Server> server_with(const std::string& certificate, const std::string& key) {
  auto options = testing::tls_server_options();
  options.tls.certificate_chain_pem = certificate;
  options.tls.private_key_pem = Sensitive<std::string>(key);
  return testing::start_server(std::move(options), hello_router());
}

ClientOptions single_attempt() {
  auto options = testing::tls_client_options();
  options.max_attempts = 1;
  return options;
}

TEST(Client, SendsMethodHeadersAndBody) {
  auto server = testing::start_server(testing::tls_server_options(), hello_router());
  Client client(testing::tls_client_options());
  auto response = client.request("PUT", testing::https_url(server->port(), "/echo"),
                                 {{"X-Custom", "value"}, {"Content-Type", "text/plain"}}, "payload");
  ASSERT_TRUE(response) << response.error().to_string();
  EXPECT_EQ(response->status, 200);
  auto body = nlohmann::json::parse(response->body);
  EXPECT_EQ(body["body"], "payload");
  EXPECT_EQ(body["x_custom"], "value");
  EXPECT_EQ(body["content_type"], "text/plain");

  auto head = client.request("HEAD", testing::https_url(server->port(), "/hello"));
  ASSERT_TRUE(head) << head.error().to_string();
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->body, "");
  EXPECT_EQ(head->header("Content-Length"), "5");
  server->stop(1s);
}

TEST(Client, VerifiesDnsNamesToo) {
  auto server = testing::start_server(testing::tls_server_options(), hello_router());
  Client client(testing::tls_client_options());
  auto response = client.get("https://localhost:" + std::to_string(server->port()) + "/hello");
  ASSERT_TRUE(response) << response.error().to_string();
  EXPECT_EQ(response->body, "hello");
  server->stop(1s);
}

TEST(Client, RefusesAServerFromAnUntrustedCa) {
  const auto& pki = TestPki::get();
  auto server = server_with(pki.other_server_cert_pem, pki.other_server_key_pem);
  auto response = Client(single_attempt()).get(testing::https_url(server->port(), "/hello"));
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ErrorCode::upstream_failed);
  EXPECT_NE(response.error().detail.find("certificate"), std::string::npos) << response.error().detail;
  server->stop(1s);
}

TEST(Client, RefusesAServerWhoseNameDoesNotMatch) {
  const auto& pki = TestPki::get();
  auto server = server_with(pki.wrong_name_cert_pem, pki.wrong_name_key_pem);
  Client client(single_attempt());
  for (std::string host : {"127.0.0.1", "localhost"}) {
    auto response = client.get("https://" + host + ":" + std::to_string(server->port()) + "/hello");
    ASSERT_FALSE(response) << host;
    EXPECT_EQ(response.error().code, ErrorCode::upstream_failed);
    EXPECT_NE(response.error().detail.find("mismatch"), std::string::npos) << response.error().detail;
  }
  server->stop(1s);
}

TEST(Client, ChecksSpkiPinsInAdditionToTheChain) {
  const auto& pki = TestPki::get();
  auto server = testing::start_server(testing::tls_server_options(), hello_router());
  auto server_pin = spki_sha256_hex_of_pem_certificate(pki.server_cert_pem);
  auto other_pin = spki_sha256_hex_of_pem_certificate(pki.client_cert_pem);
  ASSERT_TRUE(server_pin && other_pin);

  auto pinned = single_attempt();
  pinned.pinned_spki_sha256_hex = {*other_pin};
  auto refused = Client(pinned).get(testing::https_url(server->port(), "/hello"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::upstream_failed);
  EXPECT_NE(refused.error().detail.find("pin"), std::string::npos);

  std::string upper = *server_pin;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  pinned.pinned_spki_sha256_hex = {*other_pin, upper};
  auto accepted = Client(pinned).get(testing::https_url(server->port(), "/hello"));
  ASSERT_TRUE(accepted) << accepted.error().to_string();
  EXPECT_EQ(accepted->status, 200);
  server->stop(1s);
}

TEST(Client, SpkiPinHelperMatchesTheOpensslCli) {
  const auto& pki = TestPki::get();
  auto cli = testing::run_command(
      "openssl x509 -in server.crt -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256 -r");
  ASSERT_EQ(cli.exit_code, 0) << cli.output;
  auto pin = spki_sha256_hex_of_pem_certificate(pki.server_cert_pem);
  ASSERT_TRUE(pin);
  EXPECT_EQ(pin->size(), 64u);
  EXPECT_EQ(cli.output.substr(0, 64), *pin);
  EXPECT_EQ(spki_sha256_hex_of_pem_certificate("not a certificate").error().code, ErrorCode::cert_parse_failed);
}

TEST(Client, TimesOutAgainstASilentTlsListener) {
  testing::SilentListener silent;
  auto options = single_attempt();
  options.connect_timeout = 300ms;
  const auto started = std::chrono::steady_clock::now();
  auto response = Client(options).get(testing::https_url(silent.port(), "/hello"));
  const auto elapsed = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ErrorCode::upstream_timeout);
  EXPECT_LT(elapsed, 15s);  // a hang would fail here, not a slow machine
}

TEST(Client, TimesOutWaitingForAResponse) {
  testing::SilentListener silent;
  auto options = single_attempt();
  options.plaintext = true;
  options.request_timeout = 300ms;
  const auto started = std::chrono::steady_clock::now();
  auto response = Client(options).get(testing::http_url(silent.port(), "/hello"));
  const auto elapsed = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ErrorCode::upstream_timeout);
  EXPECT_LT(elapsed, 15s);
}

TEST(Client, RetriesAreBoundedForRefusedConnections) {
  auto options = testing::tls_client_options();
  options.max_attempts = 3;
  auto response = Client(options).get(testing::https_url(testing::closed_port(), "/hello"));
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ErrorCode::upstream_failed);
  EXPECT_NE(response.error().detail.find("refused"), std::string::npos) << response.error().detail;
}

TEST(Client, RejectsBadInputWithoutNetworkIo) {
  Client client(testing::tls_client_options());
  EXPECT_EQ(client.get("ftp://127.0.0.1/x").error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(client.get("https://").error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(client.get("https://127.0.0.1:99999/").error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(client.get("https://user@127.0.0.1/").error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(client.get("https://127.0.0.1/a b").error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(client.get("http://127.0.0.1:1/").error().code, ErrorCode::invalid_argument);  // plaintext not enabled
  EXPECT_EQ(client.get("https://127.0.0.1:1/", {{"X-Bad", "a\r\nInjected: yes"}}).error().code,
            ErrorCode::invalid_argument);
  EXPECT_EQ(client.request("GE T", "https://127.0.0.1:1/").error().code, ErrorCode::invalid_argument);
}

TEST(Client, ReportsUnusableConfiguration) {
  ClientOptions options;
  options.ca_pem = "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n";
  EXPECT_EQ(Client(options).get("https://127.0.0.1:1/").error().code, ErrorCode::config_invalid);
  auto bad_pin = testing::tls_client_options();
  bad_pin.pinned_spki_sha256_hex = {"abc"};
  EXPECT_EQ(Client(bad_pin).get("https://127.0.0.1:1/").error().code, ErrorCode::config_invalid);
  auto bad_key = testing::tls_client_options();
  bad_key.client_certificate_pem = TestPki::get().client_cert_pem;
  bad_key.client_private_key_pem = Sensitive<std::string>(TestPki::get().server_key_pem);
  EXPECT_EQ(Client(bad_key).get("https://127.0.0.1:1/").error().code, ErrorCode::config_invalid);
}

}  // namespace
}  // namespace cloister::http

// The server against independent TLS/HTTP implementations: curl, openssl s_client, promtool.

#include "cloister/http/client.h"
#include "cloister/http/server.h"
#include "test_support.h"

#include <gtest/gtest.h>

#include <fstream>

namespace cloister::http {
namespace {

using namespace std::chrono_literals;
using testing::run_command;
using testing::TestPki;

class InteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TestPki::get();  // files on disk for the tools
    Router router;
    router.add("GET", "/v1/peer", [](const Request& request) -> Result<Response> {
      return text_response(200, request.peer ? request.peer->subject : "anonymous");
    });
    auto options = testing::tls_server_options();
    options.tls.client_ca_pem = TestPki::get().ca_pem;
    server_ = testing::start_server(std::move(options), std::move(router));
    port_ = std::to_string(server_->port());
  }
  void TearDown() override { server_->stop(1s); }

  std::string curl(const std::string& arguments) { return "curl --silent --show-error --cacert ca.crt " + arguments; }
  std::string s_client(const std::string& arguments) {
    return "openssl s_client -connect 127.0.0.1:" + port_ + " -CAfile ca.crt -verify_return_error " + arguments;
  }

  std::unique_ptr<Server> server_;
  std::string port_;
};

TEST_F(InteropTest, CurlFetchesHealthOverTls) {
  auto result = run_command(curl("--fail https://127.0.0.1:" + port_ + "/healthz"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find(R"("status":"ok")"), std::string::npos) << result.output;
}

TEST_F(InteropTest, CurlReusesTheConnection) {
  auto url = "https://127.0.0.1:" + port_ + "/healthz";
  auto result = run_command(curl("--verbose --fail " + url + " " + url));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("Re-using existing connection"), std::string::npos) << result.output;
  EXPECT_EQ(testing::count_occurrences(result.output, "SSL connection using"), 1u) << result.output;
}

TEST_F(InteropTest, CurlWithAClientCertificateIsSeenByTheHandler) {
  auto result = run_command(curl("--fail --cert client.crt --key client.key https://127.0.0.1:" + port_ + "/v1/peer"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(result.output, "CN=platform,O=Cloister Test");
}

TEST_F(InteropTest, CurlCannotUseTls11) {
  // The client side is opened up (security level 0) so the refusal is the server's.
  auto refused = run_command(curl("--tlsv1.1 --tls-max 1.1 --ciphers 'DEFAULT@SECLEVEL=0' https://127.0.0.1:" + port_ + "/healthz"));
  EXPECT_NE(refused.exit_code, 0) << refused.output;
  EXPECT_NE(refused.output.find("alert protocol version"), std::string::npos) << refused.output;
  auto tls12 = run_command(curl("--fail --tlsv1.2 --tls-max 1.2 https://127.0.0.1:" + port_ + "/healthz"));
  EXPECT_EQ(tls12.exit_code, 0) << tls12.output;
}

TEST_F(InteropTest, OpensslRefusesNonAeadTls12Ciphers) {
  for (std::string cipher : {"AES128-SHA256", "ECDHE-ECDSA-AES128-SHA256", "ECDHE-ECDSA-AES256-SHA", "AES128-GCM-SHA256"}) {
    auto result = run_command(s_client("-tls1_2 -cipher " + cipher));
    EXPECT_NE(result.exit_code, 0) << cipher << "\n" << result.output;
    // Refused by the server (its alert), not by the client's own configuration.
    EXPECT_NE(result.output.find("alert handshake failure"), std::string::npos) << cipher << "\n" << result.output;
  }
  auto aead = run_command(s_client("-tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256"));
  ASSERT_EQ(aead.exit_code, 0) << aead.output;
  EXPECT_NE(aead.output.find("ECDHE-ECDSA-AES128-GCM-SHA256"), std::string::npos) << aead.output;
  EXPECT_EQ(aead.output.find("TLS session ticket:"), std::string::npos) << aead.output;  // tickets are off
  EXPECT_NE(aead.output.find("Compression: NONE"), std::string::npos) << aead.output;
}

TEST_F(InteropTest, OpensslNegotiatesTls13) {
  auto result = run_command(s_client("-tls1_3"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("TLSv1.3"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("Verify return code: 0 (ok)"), std::string::npos) << result.output;
  auto tls11 = run_command(s_client("-tls1_1 -cipher 'DEFAULT@SECLEVEL=0'"));
  EXPECT_NE(tls11.exit_code, 0) << tls11.output;
  EXPECT_NE(tls11.output.find("alert protocol version"), std::string::npos) << tls11.output;
}

TEST_F(InteropTest, MetricsPassPromtool) {
  Client client(testing::tls_client_options());
  auto base = testing::https_url(server_->port(), "");
  ASSERT_EQ(client.get(base + "/healthz")->status, 200);
  ASSERT_EQ(client.get(base + "/v1/peer")->status, 200);
  ASSERT_EQ(client.get(base + "/nothing")->status, 404);
  ASSERT_EQ(client.request("POST", base + "/healthz")->status, 405);
  auto metrics = client.get(base + "/metrics");
  ASSERT_TRUE(metrics);
  ASSERT_EQ(metrics->status, 200);
  auto path = TestPki::get().path("metrics.txt");
  {
    std::ofstream out(path, std::ios::binary);
    out << metrics->body;
  }
  auto result = run_command("promtool check metrics < metrics.txt");
  EXPECT_EQ(result.exit_code, 0) << result.output << "\n" << metrics->body;
  EXPECT_NE(metrics->body.find("cloister_http_request_duration_seconds_bucket"), std::string::npos);
}

}  // namespace
}  // namespace cloister::http

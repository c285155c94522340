#include "token_command.h"

#include "cloister/attestation/format_registry.h"
#include "cloister/attestation/runtime_data.h"
#include "cloister/crypto/base64.h"
#include "cloister/crypto/hpke.h"
#include "cloister/crypto/keys.h"
#include "cloister/service/caller_auth.h"
#include "cloister/service/tls_identity.h"

#include <nlohmann/json.hpp>

#include <iostream>
#include <iterator>

namespace cloister::cli {

namespace {

int report(const Error& error) {
  std::cerr << "error: " << error.to_string() << "\n";
  return 1;
}

Result<http::Client> client_for(const std::string& ca_file) {
  http::ClientOptions options;
  if (!ca_file.empty()) {
    auto ca = service::read_text_file(ca_file);
    if (!ca) return std::unexpected(ca.error());
    options.ca_pem = std::move(*ca);
  }
  options.request_timeout = std::chrono::milliseconds(10000);
  return http::Client(std::move(options));
}

}  // namespace

int run_token_verify(const TokenVerifyOptions& options) {
  std::string token = options.token;
  if (token == "-") {
    token.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  }
  auto client = client_for(options.ca_file);
  if (!client) return report(client.error());
  attestation::TokenVerifierOptions verifier_options;
  verifier_options.issuer = options.issuer;
  while (!verifier_options.issuer.empty() && verifier_options.issuer.back() == '/') verifier_options.issuer.pop_back();
  verifier_options.policy.allow_simulated = options.allow_simulated;
  verifier_options.policy.allow_debug = options.allow_debug;
  attestation::TokenVerifier verifier(std::make_shared<service::HttpJwksSource>(verifier_options.issuer, std::move(*client)),
                                      verifier_options, SystemClock::instance());
  auto verified = verifier.verify(token);
  if (!verified) return report(verified.error());
  std::cout << verified->claims.dump(2) << "\n";
  return 0;
}

int run_token_request(const TokenRequestOptions& options) {
  auto client = client_for(options.ca_file);
  if (!client) return report(client.error());
  std::string url = options.attest_url;
  while (!url.empty() && url.back() == '/') url.pop_back();

  std::optional<std::string> nonce;
  if (options.with_nonce) {
    auto response = client->request("POST", url + "/attest/nonce");
    if (!response) return report(response.error());
    auto body = nlohmann::json::parse(response->body, nullptr, false);
    if (response->status != 200 || !body.is_object() || !body.contains("nonce")) {
      return report(Error{ErrorCode::upstream_failed, "no nonce: " + response->body});
    }
    nonce = body["nonce"].get<std::string>();
  }
  auto tls = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  auto hpke = crypto::hpke::generate_key_pair();
  auto runtime_data = attestation::make_runtime_data(tls.public_key(), hpke.public_key, nonce);
  attestation::AttesterConfig config;
  config.sim.platform_key_path = options.sim_platform_key;
  auto attester = attestation::make_attester("sim", config);
  if (!attester) return report(attester.error());
  auto evidence = (*attester)->evidence(attestation::report_data_for(runtime_data));
  if (!evidence) return report(evidence.error());
  nlohmann::json request = {{"evidence", crypto::base64url_encode(*evidence)},
                            {"runtime_data", crypto::base64url_encode(runtime_data)}};
  if (nonce) request["nonce"] = *nonce;
  auto response = client->post_json(url + "/attest/sim", request);
  if (!response) return report(response.error());
  auto body = nlohmann::json::parse(response->body, nullptr, false);
  if (response->status != 200 || !body.is_object() || !body.contains("token")) {
    std::string code = body.is_object() ? body.value("code", std::string("upstream_failed")) : "upstream_failed";
    return report(Error{ErrorCode::upstream_failed, "attestation refused: " + code});
  }
  std::cout << nlohmann::json{{"token", body["token"]}, {"runtime_data", crypto::base64url_encode(runtime_data)}}.dump()
            << "\n";
  return 0;
}

}  // namespace cloister::cli

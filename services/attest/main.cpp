// cloister-attest: verifies evidence, applies the appraisal policy and issues attestation tokens.
#include "attestation_service.h"

#include "cloister/attestation/policy.h"
#include "cloister/core/log.h"
#include "cloister/crypto/keys.h"
#include "cloister/service/caller_auth.h"
#include "cloister/service/service_runtime.h"

#include <iostream>

using namespace cloister;

int main(int argc, char** argv) {
  service::ServiceDefinition definition{
      "cloister-attest", "CLOISTER_ATTEST_", "Attestation service: evidence in, signed attestation tokens out",
      {
          {"issuer", "", "Token issuer URL (iss, OIDC discovery); empty: https://<listen.host>:<bound port>"},
          {"token.lifetime_seconds", 300, "Lifetime of issued tokens"},
          {"nonce.lifetime_seconds", 300, "Lifetime of nonces from POST /attest/nonce"},
          {"keys.retention_hours", 24, "How long a retired signing key stays in the JWKS"},
          {"sim.trusted_platform_key_files", nlohmann::json::array(),
           "PEM public keys of simulated platforms whose sim evidence is verified (none: sim is refused)"},
      }};
  for (auto& option : service::policy_options()) definition.options.push_back(option);
  auto config = service::load_config(definition, argc, argv);

  auto fatal = [](const std::string& what, const Error& error) {
    log::error(what, {{"code", error.name()}, {"detail", error.detail}});
    std::cerr << "cloister-attest: " << what << ": " << error.to_string() << "\n";
    return 1;
  };
  auto state_dir = config.get_string("state_dir");
  if (state_dir.empty()) return fatal("configuration", Error{ErrorCode::config_invalid, "state_dir is required"});

  attest::AttestationServiceOptions options;
  options.token_lifetime = std::chrono::seconds(config.get_int("token.lifetime_seconds"));
  options.nonce_lifetime = std::chrono::seconds(config.get_int("nonce.lifetime_seconds"));
  auto policy = service::policy_from_config(config);
  if (!policy) return fatal("policy", policy.error());
  options.policy = std::move(*policy);
  for (const auto& path : config.get_strings("sim.trusted_platform_key_files")) {
    auto text = service::read_text_file(path);
    if (!text) return fatal("sim platform key", text.error());
    auto key = crypto::PublicKey::from_pem(*text);
    if (!key) return fatal("sim platform key " + path, key.error());
    options.formats.sim_platform_keys.push_back(std::move(*key));
  }

  const Clock& clock = SystemClock::instance();
  auto keys = attestation::SigningKeys::open(state_dir + "/signing-keys", clock,
                                             std::chrono::hours(config.get_int("keys.retention_hours")));
  if (!keys) return fatal("signing keys", keys.error());

  auto tls = service::make_tls_identity(config, "cloister-attest");
  if (!tls) return fatal("TLS identity", tls.error());

  auto metrics = std::make_shared<Metrics>();
  attest::AttestationService service(std::move(options), std::move(*keys), clock, metrics->registry());
  http::Router router;
  service.add_routes(router);
  http::Server server(service::server_options(config, *tls, "cloister-attest"), std::move(router), metrics);

  // The issuer URL names the bound port, so it is set between binding and publishing the port.
  return service::serve(server, config, {}, [&](std::uint16_t port) {
    auto issuer = config.get_string("issuer");
    if (issuer.empty()) issuer = "https://" + config.get_string("listen.host") + ":" + std::to_string(port);
    service.set_issuer(issuer);
    log::info("issuer", {{"issuer", issuer}});
  });
}

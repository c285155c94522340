// cloister-attest: verifies evidence, applies the appraisal policy and issues attestation tokens.
#include "attestation_service.h"

#include "cloister/attestation/policy.h"
#include "cloister/core/log.h"
#include "cloister/crypto/keys.h"
#include "cloister/crypto/x509.h"
#include "cloister/service/caller_auth.h"
#include "cloister/service/service_runtime.h"

#include <condition_variable>
#include <iostream>
#include <mutex>
#include <thread>

using namespace cloister;

namespace {

// policies.seed_file: {"<format>": {policy}, …}
Result<std::map<std::string, attestation::Policy>> read_seed_file(const std::string& path) {
  std::map<std::string, attestation::Policy> seeds;
  if (path.empty()) return seeds;
  auto text = service::read_text_file(path);
  if (!text) return std::unexpected(text.error());
  auto document = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!document.is_object()) return fail(ErrorCode::config_invalid, path + ": a JSON object {format: policy}");
  for (const auto& [format, value] : document.items()) {
    auto policy = attestation::Policy::from_json(value);
    if (!policy) return fail(ErrorCode::config_invalid, path + ": " + format + ": " + policy.error().detail);
    seeds[format] = std::move(*policy);
  }
  return seeds;
}

// Runs AttestationService::tick every `interval` until stopped.
class Ticker {
 public:
  Ticker(attest::AttestationService& service, std::chrono::seconds interval)
      : thread_([this, &service, interval] {
          std::unique_lock lock(mutex_);
          while (!stopping_) {
            lock.unlock();
            (void)service.tick();
            lock.lock();
            wake_.wait_for(lock, interval, [this] { return stopping_; });
          }
        }) {}
  ~Ticker() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace

int main(int argc, char** argv) {
  service::ServiceDefinition definition{
      "cloister-attest", "CLOISTER_ATTEST_", "Attestation service: evidence in, signed attestation tokens out",
      {
          {"issuer", "", "Token issuer URL (iss, OIDC discovery); empty: https://<listen.host>:<bound port>"},
          {"token.lifetime_seconds", 300, "Lifetime of issued tokens"},
          {"nonce.lifetime_seconds", 300, "Lifetime of nonces from POST /attest/nonce"},
          {"keys.rotation_hours", 24, "Signing keys rotate this often (0: never); see docs/attestation.md"},
          {"keys.prepublish_minutes", 10,
           "A new signing key is published in the JWKS this long before it starts signing"},
          {"keys.retention_hours", 24,
           "How long a retired signing key stays in the JWKS (at least the token lifetime + 60 s JWKS cache)"},
          {"sim.trusted_platform_key_files", nlohmann::json::array(),
           "PEM public keys of simulated platforms whose sim evidence is verified (none: sim is refused)"},
          {"policies.seed_file", "",
           "JSON file {format: policy} seeding each format's first policy version (else policy.*)"},
          {"admin.credentials", nlohmann::json::array(),
           "Admin credentials [{name, sha256 of the bearer token}]; empty: one is generated into state_dir/admin-token"},
          {"dcap.root_ca_files", nlohmann::json::array(),
           "sgx/tdx: PEM root certificates the PCK and TCB Signing chains must end at; empty: the Intel SGX Root CA"},
          {"dcap.ignore_crl_freshness", false,
           "sgx/tdx: do not refuse CRLs past nextUpdate (replaying archived evidence only; docs/attestation.md)"},
          {"snp.trusted_ark_files", nlohmann::json::array(),
           "snp: PEM AMD root keys (ARK) to pin; empty: AMD's Milan, Genoa and Turin ARKs"},
          {"collateral.dir", "",
           "Collateral store (the PCCS role) used when a request carries no collateral; empty: none"},
          {"rate_limit.requests_per_minute", 600, "Per-client-address request rate on every route (0: no limit)"},
          {"rate_limit.burst", 60, "Requests a client may make at once before the rate applies"},
          {"rate_limit.max_clients", 10000, "Client addresses tracked at once (the least recently seen go first)"},
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
  options.state_dir = state_dir;
  options.token_lifetime = std::chrono::seconds(config.get_int("token.lifetime_seconds"));
  options.nonce_lifetime = std::chrono::seconds(config.get_int("nonce.lifetime_seconds"));
  options.key_rotation_period = std::chrono::hours(config.get_int("keys.rotation_hours"));
  options.key_prepublish = std::chrono::minutes(config.get_int("keys.prepublish_minutes"));
  options.key_retention = std::chrono::hours(config.get_int("keys.retention_hours"));
  auto policy = service::policy_from_config(config);
  if (!policy) return fatal("policy", policy.error());
  options.seed_policy = std::move(*policy);
  auto seeds = read_seed_file(config.get_string("policies.seed_file"));
  if (!seeds) return fatal("policies.seed_file", seeds.error());
  options.seed_policies = std::move(*seeds);
  options.admin_credentials = config.get("admin.credentials");
  options.collateral_dir = config.get_string("collateral.dir");
  const auto rate = config.get_int("rate_limit.requests_per_minute");
  const auto burst = config.get_int("rate_limit.burst");
  const auto clients = config.get_int("rate_limit.max_clients");
  if (rate < 0 || burst < 1 || clients < 1) {
    return fatal("configuration", Error{ErrorCode::config_invalid, "rate_limit.* must be positive (rate may be 0)"});
  }
  options.rate_limit = {static_cast<std::uint32_t>(rate), static_cast<std::uint32_t>(burst),
                        static_cast<std::size_t>(clients)};
  for (const auto& path : config.get_strings("sim.trusted_platform_key_files")) {
    auto text = service::read_text_file(path);
    if (!text) return fatal("sim platform key", text.error());
    auto key = crypto::PublicKey::from_pem(*text);
    if (!key) return fatal("sim platform key " + path, key.error());
    options.formats.sim_platform_keys.push_back(std::move(*key));
  }

  auto read_certificates = [](const std::vector<std::string>& paths) -> Result<std::vector<crypto::Certificate>> {
    std::vector<crypto::Certificate> certificates;
    for (const auto& path : paths) {
      auto text = service::read_text_file(path);
      if (!text) return std::unexpected(text.error());
      auto chain = crypto::Certificate::chain_from_pem(*text);
      if (!chain) return fail(chain.error().code, path + ": " + chain.error().detail);
      if (chain->empty()) return fail(ErrorCode::config_invalid, path + ": no certificate");
      for (auto& certificate : *chain) certificates.push_back(std::move(certificate));
    }
    return certificates;
  };
  auto dcap_roots = read_certificates(config.get_strings("dcap.root_ca_files"));
  if (!dcap_roots) return fatal("dcap.root_ca_files", dcap_roots.error());
  options.formats.dcap.root_cas = std::move(*dcap_roots);
  options.formats.dcap.ignore_crl_freshness = config.get_bool("dcap.ignore_crl_freshness");
  auto arks = read_certificates(config.get_strings("snp.trusted_ark_files"));
  if (!arks) return fatal("snp.trusted_ark_files", arks.error());
  options.formats.snp_trusted_arks = std::move(*arks);

  const Clock& clock = SystemClock::instance();
  auto metrics = std::make_shared<Metrics>();
  auto service = attest::AttestationService::create(std::move(options), clock, metrics->registry());
  if (!service) return fatal("state", service.error());

  auto tls = service::make_tls_identity(config, "cloister-attest");
  if (!tls) return fatal("TLS identity", tls.error());

  http::Router router;
  (*service)->add_routes(router);
  http::Server server(service::server_options(config, *tls, "cloister-attest"), std::move(router), metrics);
  Ticker ticker(**service, std::chrono::seconds(30));

  // The issuer URL names the bound port, so it is set between binding and publishing the port.
  return service::serve(server, config, {}, [&](std::uint16_t port) {
    auto issuer = config.get_string("issuer");
    if (issuer.empty()) issuer = "https://" + config.get_string("listen.host") + ":" + std::to_string(port);
    (*service)->set_issuer(issuer);
    log::info("issuer", {{"issuer", issuer}});
  });
}

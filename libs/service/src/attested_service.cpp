#include "cloister/service/attested_service.h"

#include "cloister/core/log.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>
#include <mutex>

namespace cloister::service {

namespace {

[[noreturn]] void fatal(const std::string& service, const std::string& what, const Error& error) {
  log::error(what, {{"code", error.name()}, {"detail", error.detail}});
  log::flush();
  std::cerr << service << ": " << what << ": " << error.to_string() << "\n";
  std::exit(1);
}

// The attested options first; a service option with the same key replaces the attested one's
// default and description (e.g. cloister-keys' own policy.* defaults).
ServiceDefinition with_attested_options(ServiceDefinition definition) {
  auto options = attested_options();
  for (auto& option : options) {
    auto own = std::find_if(definition.options.begin(), definition.options.end(),
                            [&](const ConfigOption& candidate) { return candidate.key == option.key; });
    if (own == definition.options.end()) continue;
    option = std::move(*own);
    definition.options.erase(own);
  }
  definition.options.insert(definition.options.begin(), options.begin(), options.end());
  return definition;
}

}  // namespace

nlohmann::json describe_caller(const attestation::VerifiedToken& token) {
  return {{"tee", token.tee},
          {"simulated", token.simulated},
          {"jti", token.jti},
          {"measurement", token.claims.value("measurement", std::string())},
          {"debuggable", token.claims.value("debuggable", false)},
          {"tcb_status", token.claims.value("tcb_status", std::string())},
          {"expires_at", token.expires_at}};
}

struct AttestedService::Readiness {
  std::mutex mutex;
  bool token = false;
  bool available = true;
  http::Server* server = nullptr;

  void update() {
    if (server != nullptr) server->set_ready(token && available);
  }
};

AttestedService::AttestedService(const ServiceDefinition& definition, int argc, char** argv)
    : name_(definition.name),
      config_(load_config(with_attested_options(definition), argc, argv)),
      metrics_(std::make_shared<Metrics>()),
      readiness_(std::make_shared<Readiness>()) {
  auto tls = make_tls_identity(config_, name_);
  if (!tls) fatal(name_, "TLS identity", tls.error());
  tls_.emplace(std::move(*tls));
  auto identity = AttestedIdentity::create(config_, *tls_, metrics_->registry());
  if (!identity) fatal(name_, "attested identity", identity.error());
  identity_ = std::move(*identity);
  auto callers = CallerAuth::create(config_, metrics_->registry());
  if (!callers) fatal(name_, "caller policy", callers.error());
  callers_ = std::move(*callers);

  identity_->add_routes(router_);
  router_.add("GET", "/attestation/caller",
              callers_->require([](const http::Request&, const attestation::VerifiedToken& caller) -> Result<http::Response> {
                return http::json_response(200, {{"caller", describe_caller(caller)}});
              }),
              "What this service verified about an attested caller (mutual TLS + Attestation token)");
}

AttestedService::~AttestedService() = default;

void AttestedService::set_available(bool available) {
  std::lock_guard lock(readiness_->mutex);
  readiness_->available = available;
  readiness_->update();
}

int AttestedService::run() {
  http::Server server(server_options(config_, *tls_, name_), std::move(router_), metrics_);
  {
    std::lock_guard lock(readiness_->mutex);
    readiness_->server = &server;
    readiness_->update();
  }
  identity_->start([readiness = readiness_](bool ready) {
    std::lock_guard lock(readiness->mutex);
    readiness->token = ready;
    readiness->update();
  });
  int status = serve(server, config_, [this] { identity_->stop(); });
  identity_->stop();
  std::lock_guard lock(readiness_->mutex);
  readiness_->server = nullptr;
  return status;
}

}  // namespace cloister::service

// cloister-keys: attested key release (docs/keys.md). An attested service (its own token, the
// attested-caller check) whose routes release keys sealed to attested callers and administer them.
#include "key_service.h"
#include "redis_credentials.h"

#include "cloister/core/log.h"
#include "cloister/service/attested_service.h"

#include <iostream>

using namespace cloister;

int main(int argc, char** argv) {
  auto definition_options = keys::key_service_options();
  for (auto& option : keys::redis_options()) definition_options.push_back(std::move(option));
  service::AttestedService service({"cloister-keys", "CLOISTER_KEYS_", "Key release service: keys only for attested TEEs",
                                    std::move(definition_options)},
                                   argc, argv);
  auto fatal = [](const std::string& what, const Error& error) {
    log::error(what, {{"code", error.name()}, {"detail", error.detail}});
    log::flush();
    std::cerr << "cloister-keys: " << what << ": " << error.to_string() << "\n";
    return 1;
  };
  auto options = keys::key_service_options_from(service.config());
  if (!options) return fatal("configuration", options.error());
  auto key_service = keys::KeyService::create(*options, SystemClock::instance(), service.metrics().registry());
  if (!key_service) return fatal("key store", key_service.error());

  // Attested routes: each capability adds its routes here, its attested endpoints checked by
  // service.callers() (mutual TLS + Attestation token, channel-bound).
  (*key_service)->add_routes(service.router(), service.callers());
  // Short-lived Redis ACL credentials (docs/redis.md); off when redis.host is empty.
  auto redis = keys::RedisCredentialIssuer::from_config(service.config(), options->state_dir, SystemClock::instance(),
                                                        &service.metrics().registry());
  if (!redis) return fatal("redis", redis.error());
  if (*redis) keys::add_redis_routes(service.router(), service.callers(), **redis, &(*key_service)->audit());

  return service.run();
}

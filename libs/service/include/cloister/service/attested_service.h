#pragma once
// The skeleton of a service that runs in a TEE (cloister-platform, cloister-keys, cloister-infer):
// TLS identity, attested identity (evidence → token → renewal), the attested-caller check, the
// HTTPS server, and readiness that follows the token: /readyz answers 503 until the service holds
// a valid attestation token, and again if it ever lapses.
//
// Routes every attested service has, besides /healthz, /readyz and /metrics:
//   GET /attestation         evidence, runtime data and current token (AttestedIdentity)
//   GET /attestation/caller  for an attested caller (mutual TLS + Attestation token): what this
//                            service verified about it — a diagnostic for service-to-service trust

#include "cloister/core/config.h"
#include "cloister/core/metrics.h"
#include "cloister/http/router.h"
#include "cloister/service/attested_identity.h"
#include "cloister/service/caller_auth.h"
#include "cloister/service/service_runtime.h"
#include "cloister/service/tls_identity.h"

#include <memory>

namespace cloister::service {

class AttestedService {
 public:
  // The definition's options are added to the attested ones (attested_options()); an option with
  // the key of an attested one replaces its default and description. Exits the process with a clear
  // message on a start-up error (bad configuration, unreadable key).
  AttestedService(const ServiceDefinition& definition, int argc, char** argv);
  ~AttestedService();

  const Config& config() const { return config_; }
  Metrics& metrics() { return *metrics_; }
  http::Router& router() { return router_; }
  AttestedIdentity& identity() { return *identity_; }
  const CallerAuth& callers() const { return *callers_; }
  const TlsIdentity& tls() const { return *tls_; }

  // Serves until SIGINT/SIGTERM; returns the process exit status.
  int run();

  // Readiness beyond the token: a service that needs more before it can serve (cloister-platform: its
  // data key) calls set_available(false) before run() and set_available(true) once it has it; /readyz
  // answers 200 only while the token is held and the service is available. Thread-safe.
  void set_available(bool available);

 private:
  std::string name_;
  Config config_;
  std::shared_ptr<Metrics> metrics_;
  std::optional<TlsIdentity> tls_;
  std::unique_ptr<AttestedIdentity> identity_;
  std::unique_ptr<CallerAuth> callers_;
  http::Router router_;
  struct Readiness;
  std::shared_ptr<Readiness> readiness_;
};

// The JSON a service returns about a verified caller (no token, only what was verified).
nlohmann::json describe_caller(const attestation::VerifiedToken& token);

}  // namespace cloister::service

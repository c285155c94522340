#pragma once
// What every Cloister service binary shares: configuration (common options + the service's own),
// logging, metrics, the HTTPS server, signals and graceful shutdown, and the port file that
// `cloister up` and the integration tests read to find a server started on port 0.
//
// A service's main.cpp only declares its options, builds its routes and calls run().

#include "cloister/core/config.h"
#include "cloister/core/metrics.h"
#include "cloister/http/router.h"
#include "cloister/http/server.h"
#include "cloister/service/tls_identity.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace cloister::service {

// Options every service has (documented in docs/configuration.md):
//   listen.host, listen.port, port_file, state_dir, log.level, log.file, tls.*, server.*
std::vector<ConfigOption> common_options();
// Options of services that attest themselves and check callers' tokens: attestation.*, tee.*,
// policy.* (the relying-party policy applied to callers).
std::vector<ConfigOption> attested_options();
// The policy.* options alone (a Policy, docs/tokens.md): what a relying party accepts of its
// callers, or what the attestation service accepts of evidence.
std::vector<ConfigOption> policy_options();

struct ServiceDefinition {
  std::string name;        // e.g. "cloister-infer"
  std::string env_prefix;  // e.g. "CLOISTER_INFER_"
  std::string description;
  std::vector<ConfigOption> options;  // the service's own, added to common_options() (same key: replaces it)
};

// Parses argv (--config FILE, --set key=value (repeatable), --print-config-docs), loads the
// configuration and configures logging. Exits the process with status 2 on a configuration error,
// printing the reason (no secrets are ever in it).
Config load_config(const ServiceDefinition& definition, int argc, char** argv);

// The HTTP server options from the common configuration and the service's TLS identity.
http::ServerOptions server_options(const Config& config, const TlsIdentity& identity, std::string service_name);

// Starts the server, calls on_started(port), writes the port file, waits for SIGINT/SIGTERM, stops
// gracefully (in-flight requests finish, up to 10 s), then calls on_stop. Returns the exit status.
int serve(http::Server& server, const Config& config, const std::function<void()>& on_stop = {},
          const std::function<void(std::uint16_t)>& on_started = {});

// Writes `port` to `path` atomically (temp file + rename), so a reader never sees a partial value.
Status write_port_file(const std::string& path, std::uint16_t port);

}  // namespace cloister::service

#include "cloister/service/service_runtime.h"

#include "cloister/core/log.h"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <unistd.h>

namespace cloister::service {

std::vector<ConfigOption> common_options() {
  return {
      {"listen.host", "127.0.0.1", "Address the HTTPS server binds"},
      {"listen.port", 0, "Port the HTTPS server binds; 0 picks a free port (see port_file)"},
      {"port_file", "", "When set, the bound port is written to this file once the server listens"},
      {"state_dir", "", "Directory for the service's persistent state (created 0700)"},
      {"log.level", "info", "Minimum log level: debug, info, warn or error"},
      {"log.file", "", "Log file (JSON lines); empty: standard error"},
      {"tls.ca_file", "", "PEM CA bundle trusted for peers: servers this service calls and client certificates"},
      {"tls.issuer_cert_file", "",
       "Issuing CA certificate (PEM): with tls.issuer_key_file, a certificate for the key generated at start is issued"},
      {"tls.issuer_key_file", "", "Issuing CA private key (PEM), development only"},
      {"tls.cert_file", "", "Fixed certificate chain (PEM) instead of an issued one"},
      {"tls.key_file", "", "Private key (PEM) of tls.cert_file"},
      {"tls.server_names", nlohmann::json::array({"localhost", "127.0.0.1"}),
       "DNS names and IP addresses put in an issued certificate"},
      {"tls.certificate_days", 30, "Validity of an issued certificate, in days"},
      {"server.threads", 2, "I/O threads"},
      {"server.handler_threads", 8, "Threads running request handlers"},
      {"server.max_body_bytes", 8 * 1024 * 1024, "Largest accepted request body"},
      {"server.max_header_bytes", 16 * 1024, "Largest accepted request header"},
      {"server.max_in_flight", 256, "Requests in handlers at once before answering 429"},
      {"server.request_timeout_ms", 30000, "Time to receive a whole request"},
      {"server.idle_timeout_ms", 60000, "Keep-alive idle time"},
      {"server.cors_origins", nlohmann::json::array(),
       "Browser origins allowed to call this service (CORS), e.g. the hospital portal's [\"https://portal.example\"]; \"*\": any"},
  };
}

std::vector<ConfigOption> attested_options() {
  auto options = policy_options();
  options.insert(options.begin(), {
      {"attestation.url", "", "Base URL of cloister-attest (evidence is exchanged there for a token)"},
      {"attestation.issuer", "", "Expected token issuer (iss); empty: attestation.url"},
      {"tee.format", "sim",
       "Evidence format of this TEE: sim (development), sgx (Gramine /dev/attestation), tdx or snp (configfs-tsm)"},
      {"tee.sim.platform_key_file", "", "sim only: the simulated-platform private key (PEM)"},
      {"tee.gramine.root", "/", "sgx only: the directory holding dev/attestation (\"/\" inside Gramine)"},
      {"tee.tsm.root", "/sys/kernel/config/tsm/report", "snp and tdx: the configfs-tsm report directory (Linux 6.7+)"},
  });
  return options;
}

std::vector<ConfigOption> policy_options() {
  return {
      {"policy.tee_types", nlohmann::json::array({"sgx", "tdx", "snp"}), "Caller TEE types accepted"},
      {"policy.measurements", nlohmann::json::array(), "Caller measurements accepted (hex); empty: any"},
      {"policy.signers", nlohmann::json::array(), "Caller signers accepted (hex); empty: any"},
      {"policy.min_svn", 0, "Minimum caller security version"},
      {"policy.allow_debug", false, "Accept debuggable caller TEEs"},
      {"policy.allow_simulated", false, "Accept callers in the sim TEE (development only)"},
      {"policy.tcb_statuses", nlohmann::json::array({"UpToDate"}), "Caller TCB statuses accepted"},
  };
}

namespace {

void usage(const ServiceDefinition& definition) {
  std::cout << definition.name << " — " << definition.description << "\n\n"
            << "usage: " << definition.name << " [--config FILE] [--set key=value]... [--print-config-docs]\n\n"
            << "Configuration: documented defaults, then FILE (JSON), then environment variables "
            << definition.env_prefix << "<KEY> ('.' in a key becomes '__'), then --set.\n";
}

}  // namespace

Config load_config(const ServiceDefinition& definition, int argc, char** argv) {
  // Block the stop signals before any thread starts, so every thread inherits the mask and
  // serve() receives them with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  // A service's own option with the key of a common one replaces its default and description.
  auto options = common_options();
  std::vector<ConfigOption> own;
  for (const auto& option : definition.options) {
    auto common = std::find_if(options.begin(), options.end(), [&](const ConfigOption& c) { return c.key == option.key; });
    if (common != options.end()) {
      *common = option;
    } else {
      own.push_back(option);
    }
  }
  options.insert(options.end(), own.begin(), own.end());
  Config config(std::move(options), definition.env_prefix);

  std::string file;
  std::vector<std::string> overrides;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if ((arg == "--config" || arg == "--set") && i + 1 < argc) {
      (arg == "--config" ? file : overrides.emplace_back()) = argv[++i];
    } else if (arg == "--print-config-docs") {
      std::cout << config.describe_markdown();
      std::exit(0);
    } else if (arg == "--help" || arg == "-h") {
      usage(definition);
      std::exit(0);
    } else {
      std::cerr << definition.name << ": unknown argument " << arg << " (see --help)\n";
      std::exit(2);
    }
  }
  if (auto status = config.load(file, overrides); !status) {
    std::cerr << definition.name << ": " << status.error().to_string() << "\n";
    std::exit(2);
  }
  log::configure(definition.name, log::parse_level(config.get_string("log.level")), config.get_string("log.file"));
  if (auto dir = config.get_string("state_dir"); !dir.empty()) {
    std::error_code error;
    std::filesystem::create_directories(dir, error);
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all, error);
  }
  return config;
}

http::ServerOptions server_options(const Config& config, const TlsIdentity& identity, std::string service_name) {
  http::ServerOptions options;
  options.host = config.get_string("listen.host");
  options.port = static_cast<std::uint16_t>(config.get_int("listen.port"));
  options.tls.certificate_chain_pem = identity.certificate_chain_pem;
  options.tls.private_key_pem = identity.private_key_pem();
  // Client certificates are requested (service-to-service calls are mutual TLS) but not required:
  // browsers and probes connect without one, and attested endpoints refuse them one by one.
  options.tls.client_ca_pem = identity.trusted_ca_pem;
  options.threads = static_cast<int>(config.get_int("server.threads"));
  options.handler_threads = static_cast<int>(config.get_int("server.handler_threads"));
  options.max_body_bytes = static_cast<std::size_t>(config.get_int("server.max_body_bytes"));
  options.max_header_bytes = static_cast<std::size_t>(config.get_int("server.max_header_bytes"));
  options.max_in_flight = static_cast<std::size_t>(config.get_int("server.max_in_flight"));
  options.request_timeout = std::chrono::milliseconds(config.get_int("server.request_timeout_ms"));
  options.idle_timeout = std::chrono::milliseconds(config.get_int("server.idle_timeout_ms"));
  options.cors_allowed_origins = config.get_strings("server.cors_origins");
  options.service_name = std::move(service_name);
  return options;
}

Status write_port_file(const std::string& path, std::uint16_t port) {
  std::string temporary = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(temporary, std::ios::trunc);
    if (!out) return fail(ErrorCode::io_error, "cannot write " + temporary);
    out << port << "\n";
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) return fail(ErrorCode::io_error, "cannot rename port file: " + error.message());
  return {};
}

int serve(http::Server& server, const Config& config, const std::function<void()>& on_stop,
          const std::function<void(std::uint16_t)>& on_started) {
  if (auto status = server.start(); !status) {
    log::error("server failed to start", {{"code", status.error().name()}, {"detail", status.error().detail}});
    return 1;
  }
  log::info("listening", {{"host", config.get_string("listen.host")}, {"port", server.port()}});
  if (on_started) on_started(server.port());
  if (auto path = config.get_string("port_file"); !path.empty()) {
    if (auto status = write_port_file(path, server.port()); !status) {
      log::error("cannot write port file", {{"detail", status.error().detail}});
      server.stop(std::chrono::milliseconds(0));
      return 1;
    }
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  int received = 0;
  sigwait(&signals, &received);
  log::info("stopping", {{"signal", received == SIGINT ? "SIGINT" : "SIGTERM"}});
  server.set_ready(false);
  server.stop(std::chrono::milliseconds(10000));
  if (on_stop) on_stop();
  log::info("stopped");
  log::flush();
  return 0;
}

}  // namespace cloister::service

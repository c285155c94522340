#include "up_command.h"

#include "cloister/core/process.h"
#include "cloister/http/client.h"
#include "cloister/service/tls_identity.h"
#include "dev_environment.h"

#include <nlohmann/json.hpp>

#include <csignal>
#include <fstream>
#include <iostream>
#include <thread>

namespace cloister::cli {

namespace fs = std::filesystem;

namespace {

struct ServiceSpec {
  std::string name;     // binary
  std::string role;     // shown to the user
  std::string dir;      // state subdirectory and log name
  int port_offset;
  std::string note;
};

const std::vector<ServiceSpec> kServices = {
    {"cloister-attest", "attestation", "attest", 0, "OIDC discovery: /.well-known/openid-configuration"},
    {"cloister-keys", "keys", "keys", 1, "key release (attested callers only)"},
    {"cloister-infer", "provider", "infer", 3, "diagnostic provider (attested callers only)"},
    {"cloister-platform", "platform", "platform", 2, "GET /v1/attestation, GET /v1/provider/check"},
};

struct Running {
  const ServiceSpec* spec;
  ChildProcess process;
  std::uint16_t port = 0;
  std::string url;
};

std::string json_list(const std::vector<std::string>& items) { return nlohmann::json(items).dump(); }

bool wait_ready(const http::Client& client, const std::string& url, Running& running, std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!running.process.running()) return false;
    auto response = client.get(url + "/readyz");
    if (response && response->status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

void stop_all(std::vector<Running>& running) {
  // Reverse start order: relying parties first, the attestation service last.
  for (auto it = running.rbegin(); it != running.rend(); ++it) {
    int status = it->process.stop(std::chrono::milliseconds(10000));
    std::cout << "  stopped " << it->spec->name << " (pid " << it->process.pid() << ", status " << status << ")\n";
  }
  running.clear();
}

}  // namespace

int run_up(const UpOptions& options) {
  // Ctrl-C and SIGTERM are received with sigtimedwait below; children get default handling.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto environment = prepare_dev_environment(options.state_dir);
  if (!environment) {
    std::cerr << "cloister up: " << environment.error().to_string() << "\n";
    return 1;
  }
  auto ca_pem = service::read_text_file(environment->ca_certificate.string());
  if (!ca_pem) {
    std::cerr << "cloister up: " << ca_pem.error().to_string() << "\n";
    return 1;
  }
  http::ClientOptions client_options;
  client_options.ca_pem = *ca_pem;
  client_options.connect_timeout = std::chrono::milliseconds(1000);
  client_options.request_timeout = std::chrono::milliseconds(2000);
  client_options.max_attempts = 1;
  http::Client client(client_options);

  std::vector<Running> running;
  std::string attest_url;
  for (const auto& spec : kServices) {
    auto state = fs::absolute(options.state_dir / spec.dir);
    fs::create_directories(state);
    auto port_file = state / "port";
    fs::remove(port_file);
    int port = options.base_port == 0 ? 0 : options.base_port + spec.port_offset;
    std::vector<std::string> arguments = {
        (options.bin_dir / spec.name).string(),
        "--set", "listen.host=" + options.host,
        "--set", "listen.port=" + std::to_string(port),
        "--set", "port_file=" + port_file.string(),
        "--set", "state_dir=" + state.string(),
        "--set", "tls.ca_file=" + fs::absolute(environment->ca_certificate).string(),
        "--set", "tls.issuer_cert_file=" + fs::absolute(environment->ca_certificate).string(),
        "--set", "tls.issuer_key_file=" + fs::absolute(environment->ca_key).string(),
        "--set", "tls.server_names=" + json_list({"localhost", options.host}),
        // Development: every party accepts the sim TEE, and says so.
        "--set", "policy.allow_simulated=true",
    };
    if (spec.name == "cloister-attest") {
      arguments.insert(arguments.end(),
                       {"--set", "sim.trusted_platform_key_files=" +
                                     json_list({fs::absolute(environment->sim_platform_public_key).string()}),
                        "--set", "token.lifetime_seconds=" + std::to_string(options.token_lifetime_seconds)});
    } else {
      arguments.insert(arguments.end(),
                       {"--set", "attestation.url=" + attest_url, "--set", "tee.format=sim", "--set",
                        "tee.sim.platform_key_file=" + fs::absolute(environment->sim_platform_key).string()});
    }
    if (spec.name == "cloister-platform") {
      for (const auto& other : running) {
        if (other.spec->name == "cloister-infer") arguments.insert(arguments.end(), {"--set", "provider.url=" + other.url});
      }
    }
    auto log_file = fs::absolute(environment->logs / (spec.dir + ".log")).string();
    auto process = ChildProcess::spawn({arguments, log_file, {}});
    if (!process) {
      std::cerr << "cloister up: " << process.error().to_string() << "\n";
      stop_all(running);
      return 1;
    }
    running.push_back(Running{&spec, std::move(*process), 0, {}});
    auto bound = wait_for_port_file(port_file.string(), std::chrono::seconds(options.ready_timeout_seconds),
                                    &running.back().process);
    if (!bound) {
      std::cerr << "cloister up: " << spec.name << " did not start: " << bound.error().detail << " (see " << log_file
                << ")\n";
      stop_all(running);
      return 1;
    }
    running.back().port = *bound;
    running.back().url = "https://" + options.host + ":" + std::to_string(*bound);
    if (spec.name == "cloister-attest") attest_url = running.back().url;
  }

  for (auto& service : running) {
    if (!wait_ready(client, service.url, service, std::chrono::seconds(options.ready_timeout_seconds))) {
      std::cerr << "cloister up: " << service.spec->name << " is not ready (see "
                << (environment->logs / (service.spec->dir + ".log")).string() << ")\n";
      stop_all(running);
      return 1;
    }
  }

  nlohmann::json endpoints = nlohmann::json::object();
  for (const auto& service : running) endpoints[service.spec->dir] = service.url;
  endpoints["ca"] = fs::absolute(environment->ca_certificate).string();
  {
    std::ofstream out(options.state_dir / "endpoints.json");
    out << endpoints.dump(2) << "\n";
  }

  std::cout << "\nCloister is running — SIMULATED TEE (development only: tokens say tee \"sim\"; "
               "no hardware protects this data)\n\n";
  for (const auto& service : running) {
    std::cout << "  " << service.spec->role << std::string(12 - service.spec->role.size(), ' ') << service.url
              << "   " << service.spec->note << "\n";
  }
  std::cout << "\n  CA certificate: " << environment->ca_certificate.string()
            << "   logs: " << environment->logs.string() << "/\n"
            << "  try: curl --cacert " << environment->ca_certificate.string() << " " << running[3].url
            << "/v1/provider/check\n\n";
  if (options.exit_when_ready) {
    std::cout << "all services ready; stopping (--exit-when-ready)\n";
    stop_all(running);
    return 0;
  }
  std::cout << "Press Ctrl-C to stop.\n" << std::flush;

  while (true) {
    timespec tick{0, 250'000'000};
    int received = sigtimedwait(&stop_signals, nullptr, &tick);
    if (received == SIGINT || received == SIGTERM) {
      std::cout << "\nstopping…\n";
      stop_all(running);
      return 0;
    }
    for (auto& service : running) {
      if (auto status = service.process.poll()) {
        std::cerr << "cloister up: " << service.spec->name << " exited (status " << *status << "); see "
                  << (environment->logs / (service.spec->dir + ".log")).string() << "\n";
        stop_all(running);
        return 1;
      }
    }
  }
}

}  // namespace cloister::cli

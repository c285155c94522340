#pragma once
// Test harness: runs `cloister up` on ephemeral ports in a temporary state directory, and
// helpers to run commands (bounded) and to act as an attested caller.

#include "cloister/core/process.h"
#include "cloister/crypto/keys.h"
#include "cloister/core/sensitive.h"
#include "cloister/crypto/bytes.h"
#include "cloister/http/client.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cloister::testing {

struct CommandResult {
  int status = -1;
  std::string output;  // stdout and stderr
};

// Runs a command with a time limit (killed after it); never throws.
CommandResult run_command(const std::vector<std::string>& arguments, std::chrono::seconds timeout,
                          const std::vector<std::string>& environment = {});

std::filesystem::path make_temp_dir(const std::string& prefix);
std::string read_file(const std::filesystem::path& path);
void write_file(const std::filesystem::path& path, std::string_view content);

// A response body as JSON (discarded when it is not JSON).
nlohmann::json body_of(const http::Response& response);
// The problem code of an answer ("transport: …" when there was none, "(none)" without a code).
std::string code_of(const Result<http::Response>& response);
// A compact JWS's payload as JSON, unverified (discarded when malformed): for assertions only.
nlohmann::json token_payload(const std::string& token);

// `cloister up --base-port 0` in its own state directory.
class Platform {
 public:
  // Starts it and waits (bounded) for every service to be ready; empty optional + message on failure.
  static std::unique_ptr<Platform> start(std::string* error);
  Platform(const Platform&) = delete;
  Platform& operator=(const Platform&) = delete;
  ~Platform();

  const std::filesystem::path& state_dir() const { return state_dir_; }
  std::string url(const std::string& service) const { return endpoints_.at(service).get<std::string>(); }
  std::string ca_pem() const { return read_file(state_dir_ / "ca.pem"); }
  // A client trusting the development CA; with a key, it presents a certificate issued by the
  // development CA for that key (mutual TLS).
  http::Client client(const crypto::PrivateKey* key = nullptr) const;
  // Stops `cloister up` with SIGINT (by pid) and returns its exit status.
  int stop();
  pid_t pid() const { return process_->pid(); }

 private:
  Platform() = default;
  std::filesystem::path state_dir_;
  std::optional<ChildProcess> process_;
  nlohmann::json endpoints_;
};

// A development CA, a sim-platform key, and services started as real processes on loopback (port 0),
// each with its state, log and output in one temporary directory, stopped (by pid) and removed with
// the set. For tests that need one service's configuration in hand (cloister up gives defaults).
class ServiceSet {
 public:
  ServiceSet(const std::string& prefix);
  ~ServiceSet();
  ServiceSet(const ServiceSet&) = delete;
  ServiceSet& operator=(const ServiceSet&) = delete;

  // Starts build/bin/cloister-<service> with the common settings (port file, state_dir, log file,
  // TLS from the CA) plus `settings`; returns its https URL, or an empty string with error() set.
  // `instance` names the files and state of a second instance of the same service (default: service).
  std::string start(const std::string& service, const std::vector<std::string>& settings,
                    const std::string& instance = {});
  // Starts cloister-attest trusting the sim-platform key and accepting sim evidence.
  std::string start_attest();
  // Polls GET <url>/readyz until 200 (bounded: 60 s); false with error() set otherwise.
  bool wait_ready(const std::string& url);

  const std::string& error() const { return error_; }
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path state(const std::string& service) const { return dir_ / (service + "-state"); }
  std::filesystem::path log(const std::string& service) const { return dir_ / (service + ".log"); }
  std::filesystem::path ca_file() const { return dir_ / "ca.pem"; }
  std::filesystem::path platform_key_file() const { return dir_ / "sim-platform-key.pem"; }
  // The settings that make a service attest itself in the sim TEE at attest_url.
  std::vector<std::string> sim_tee_settings(const std::string& attest_url) const;
  // Trusts the CA; with a key, presents a certificate the CA issued for it (mutual TLS).
  http::Client client(const crypto::PrivateKey* key = nullptr,
                      std::chrono::milliseconds timeout = std::chrono::milliseconds(30000)) const;
  // A certificate the CA issues for a client key (PEM), for clients other than http::Client.
  std::string issue_client_certificate(const crypto::PrivateKey& key) const;
  // Stops one service (SIGTERM by pid, bounded; or `signal`, e.g. SIGKILL for a crash) and returns its
  // exit status; -1 when not running. start() may start it again on its state.
  int stop(const std::string& service, int signal = 15);
  // The process id of a running service; -1 when not running.
  pid_t pid(const std::string& service) const;

 private:
  std::filesystem::path dir_;
  std::string error_;
  std::vector<std::pair<std::string, ChildProcess>> processes_;
};

// This process (or `executable`, which the sim TEE then measures instead) as an attested caller: its
// own TLS and HPKE keys, sim evidence signed with the set's sim-platform key, a token from
// cloister-attest at attest_url. Empty token with `error` set on failure.
struct AttestedCaller {
  crypto::PrivateKey tls_key;
  crypto::Bytes hpke_public_key;
  Sensitive<crypto::Bytes> hpke_private_key;
  std::string token;
  std::string error;
};
AttestedCaller make_attested_caller(const ServiceSet& set, const std::string& attest_url,
                                    const std::filesystem::path& executable = "/proc/self/exe");

// SHA-384 (hex) of a file: the sim TEE's measurement of that executable.
std::string sim_measurement(const std::filesystem::path& executable);

}  // namespace cloister::testing

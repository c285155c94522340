#pragma once
// Test harness: runs `cloister up` on ephemeral ports in a temporary state directory, and
// helpers to run commands (bounded) and to act as an attested caller.

#include "cloister/core/process.h"
#include "cloister/crypto/keys.h"
#include "cloister/http/client.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

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

}  // namespace cloister::testing

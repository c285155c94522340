#include "harness.h"

#include "cloister/crypto/random.h"
#include "cloister/crypto/x509.h"

#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

namespace cloister::testing {

namespace fs = std::filesystem;

std::filesystem::path make_temp_dir(const std::string& prefix) {
  auto dir = fs::temp_directory_path() / (prefix + "-" + crypto::random_hex(6));
  fs::create_directories(dir);
  return dir;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

CommandResult run_command(const std::vector<std::string>& arguments, std::chrono::seconds timeout,
                          const std::vector<std::string>& environment) {
  auto dir = make_temp_dir("cloister-cmd");
  auto output = dir / "output";
  CommandResult result;
  auto process = ChildProcess::spawn({arguments, output.string(), environment});
  if (!process) {
    result.output = process.error().to_string();
    return result;
  }
  auto status = process->wait_for(timeout);
  result.status = status ? *status : process->stop(std::chrono::milliseconds(1000));
  result.output = read_file(output);
  if (!status) result.output += "\n[killed after " + std::to_string(timeout.count()) + " s]";
  fs::remove_all(dir);
  return result;
}

std::unique_ptr<Platform> Platform::start(std::string* error) {
  std::unique_ptr<Platform> owner(new Platform());
  Platform& platform = *owner;
  platform.state_dir_ = make_temp_dir("cloister-up");
  auto process = ChildProcess::spawn({{std::string(CLOISTER_BIN_DIR) + "/cloister", "up", "--state-dir",
                                       platform.state_dir_.string(), "--base-port", "0", "--ready-timeout", "60"},
                                      (platform.state_dir_ / "up.out").string(),
                                      {}});
  if (!process) {
    *error = process.error().to_string();
    return nullptr;
  }
  platform.process_.emplace(std::move(*process));
  auto endpoints = platform.state_dir_ / "endpoints.json";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!platform.process_->running()) {
      *error = "cloister up exited: " + read_file(platform.state_dir_ / "up.out");
      return nullptr;
    }
    if (fs::exists(endpoints)) {
      auto document = nlohmann::json::parse(read_file(endpoints), nullptr, false);
      if (document.is_object() && document.contains("platform")) {
        platform.endpoints_ = document;
        return owner;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  *error = "cloister up was not ready within 120 s: " + read_file(platform.state_dir_ / "up.out");
  return nullptr;
}

Platform::~Platform() {
  if (process_) {
    stop();
    std::error_code ignored;
    fs::remove_all(state_dir_, ignored);
  }
}

int Platform::stop() {
  if (!process_) return -1;
  return process_->stop(std::chrono::seconds(30), SIGINT);
}

http::Client Platform::client(const crypto::PrivateKey* key) const {
  http::ClientOptions options;
  options.ca_pem = ca_pem();
  options.request_timeout = std::chrono::milliseconds(15000);
  options.max_attempts = 1;
  if (key != nullptr) {
    auto ca = crypto::Certificate::from_pem(options.ca_pem).value();
    auto ca_key = crypto::PrivateKey::from_pem(read_file(state_dir_ / "ca-key.pem")).value();
    crypto::CertificateOptions certificate_options;
    certificate_options.common_name = "integration-test-caller";
    auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    certificate_options.not_before_unix = now - 60;
    certificate_options.not_after_unix = now + 3600;
    auto certificate = crypto::issue_certificate(key->public_key(), certificate_options, ca_key, &ca).value();
    options.client_certificate_pem = certificate.pem();
    options.client_private_key_pem = key->pem();
  }
  return http::Client(std::move(options));
}

}  // namespace cloister::testing

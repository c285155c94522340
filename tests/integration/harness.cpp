#include "harness.h"

#include "cloister/attestation/format_registry.h"
#include "cloister/attestation/runtime_data.h"
#include "cloister/crypto/base64.h"
#include "cloister/crypto/hash.h"
#include "cloister/crypto/hpke.h"
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

void write_file(const fs::path& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

nlohmann::json body_of(const http::Response& response) { return nlohmann::json::parse(response.body, nullptr, false); }

std::string code_of(const Result<http::Response>& response) {
  if (!response) return "transport: " + response.error().to_string();
  auto body = body_of(*response);
  return body.is_object() ? body.value("code", std::string("(none)")) : "(not json)";
}

nlohmann::json token_payload(const std::string& token) {
  const auto first = token.find('.');
  const auto second = first == std::string::npos ? first : token.find('.', first + 1);
  if (second == std::string::npos) return nlohmann::json::value_t::discarded;
  auto payload = crypto::base64url_decode(token.substr(first + 1, second - first - 1));
  return payload ? nlohmann::json::parse(payload->begin(), payload->end(), nullptr, false)
                 : nlohmann::json(nlohmann::json::value_t::discarded);
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

// --- ServiceSet ----------------------------------------------------------------------------------

ServiceSet::ServiceSet(const std::string& prefix) : dir_(make_temp_dir(prefix)) {
  auto key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  crypto::CertificateOptions options;
  options.common_name = prefix + " test CA";
  options.is_ca = true;
  const auto now = SystemClock::instance().unix_seconds();
  options.not_before_unix = now - 3600;
  options.not_after_unix = now + 86400;
  write_file(ca_file(), crypto::issue_certificate(key.public_key(), options, key, nullptr).value().pem());
  write_file(dir_ / "ca-key.pem", key.pem().reveal());
  fs::permissions(dir_ / "ca-key.pem", fs::perms::owner_read | fs::perms::owner_write);
  auto platform = attestation::sim::load_or_create_platform_key(platform_key_file());
  if (!platform) {
    error_ = platform.error().to_string();
    return;
  }
  write_file(dir_ / "sim-platform.pub.pem", platform->pem());
}

ServiceSet::~ServiceSet() {
  for (auto it = processes_.rbegin(); it != processes_.rend(); ++it) it->second.stop(std::chrono::seconds(10));
  processes_.clear();
  std::error_code ignored;
  fs::remove_all(dir_, ignored);
}

std::string ServiceSet::start(const std::string& service, const std::vector<std::string>& settings,
                              const std::string& instance_name) {
  const auto instance = instance_name.empty() ? service : instance_name;
  const auto port_file = dir_ / (instance + ".port");
  std::error_code ignored;
  fs::remove(port_file, ignored);  // a restart must not read the previous run's port
  std::vector<std::string> arguments = {std::string(CLOISTER_BIN_DIR) + "/cloister-" + service,
                                        "--set", "port_file=" + port_file.string(),
                                        "--set", "state_dir=" + state(instance).string(),
                                        "--set", "log.file=" + log(instance).string(),
                                        "--set", "tls.ca_file=" + ca_file().string(),
                                        "--set", "tls.issuer_cert_file=" + ca_file().string(),
                                        "--set", "tls.issuer_key_file=" + (dir_ / "ca-key.pem").string(),
                                        "--set", R"(tls.server_names=["127.0.0.1"])"};
  arguments.insert(arguments.end(), settings.begin(), settings.end());
  auto process = ChildProcess::spawn({arguments, (dir_ / (instance + ".out")).string(), {}});
  if (!process) {
    error_ = process.error().to_string();
    return {};
  }
  processes_.emplace_back(instance, std::move(*process));
  auto port = wait_for_port_file(port_file.string(), std::chrono::seconds(60), &processes_.back().second);
  if (!port) {
    error_ = instance + ": " + port.error().to_string() + ": " + read_file(dir_ / (instance + ".out"));
    return {};
  }
  return "https://127.0.0.1:" + std::to_string(*port);
}

std::string ServiceSet::start_attest() {
  return start("attest", {"--set", "sim.trusted_platform_key_files=[\"" + (dir_ / "sim-platform.pub.pem").string() + "\"]",
                          "--set", "policy.allow_simulated=true"});
}

std::vector<std::string> ServiceSet::sim_tee_settings(const std::string& attest_url) const {
  return {"--set", "attestation.url=" + attest_url, "--set", "tee.format=sim", "--set",
          "tee.sim.platform_key_file=" + platform_key_file().string()};
}

bool ServiceSet::wait_ready(const std::string& url) {
  auto client = this->client(nullptr, std::chrono::milliseconds(2000));
  for (int attempt = 0; attempt < 600; ++attempt) {
    auto ready = client.get(url + "/readyz");
    if (ready && ready->status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  error_ = url + " was not ready within 60 s";
  return false;
}

std::string ServiceSet::issue_client_certificate(const crypto::PrivateKey& key) const {
  auto authority = crypto::Certificate::from_pem(read_file(ca_file())).value();
  auto authority_key = crypto::PrivateKey::from_pem(read_file(dir_ / "ca-key.pem")).value();
  crypto::CertificateOptions options;
  options.common_name = "integration-test-caller";
  const auto now = SystemClock::instance().unix_seconds();
  options.not_before_unix = now - 60;
  options.not_after_unix = now + 3600;
  return crypto::issue_certificate(key.public_key(), options, authority_key, &authority).value().pem();
}

http::Client ServiceSet::client(const crypto::PrivateKey* key, std::chrono::milliseconds timeout) const {
  http::ClientOptions options;
  options.ca_pem = read_file(ca_file());
  options.request_timeout = timeout;
  options.max_attempts = 1;
  if (key != nullptr) {
    options.client_certificate_pem = issue_client_certificate(*key);
    options.client_private_key_pem = key->pem();
  }
  return http::Client(std::move(options));
}

pid_t ServiceSet::pid(const std::string& service) const {
  for (const auto& [name, process] : processes_) {
    if (name == service) return process.pid();
  }
  return -1;
}

int ServiceSet::stop(const std::string& service, int signal) {
  for (auto it = processes_.begin(); it != processes_.end(); ++it) {
    if (it->first == service) {
      int status = it->second.stop(std::chrono::seconds(10), signal);
      processes_.erase(it);
      return status;
    }
  }
  return -1;
}

AttestedCaller make_attested_caller(const ServiceSet& set, const std::string& attest_url, const fs::path& executable) {
  AttestedCaller caller{crypto::PrivateKey::generate(crypto::KeyType::ec_p256), {}, {}, {}, {}};
  auto hpke = crypto::hpke::generate_key_pair();
  caller.hpke_public_key = hpke.public_key;
  caller.hpke_private_key = hpke.private_key;
  auto runtime = attestation::make_runtime_data(caller.tls_key.public_key(), caller.hpke_public_key);
  attestation::AttesterConfig config;
  config.sim.platform_key_path = set.platform_key_file();
  config.sim.executable_path = executable;
  auto attester = attestation::make_attester("sim", config);
  if (!attester) {
    caller.error = attester.error().to_string();
    return caller;
  }
  auto evidence = (*attester)->evidence(attestation::report_data_for(runtime));
  if (!evidence) {
    caller.error = evidence.error().to_string();
    return caller;
  }
  auto response = set.client().post_json(
      attest_url + "/attest/sim",
      {{"evidence", crypto::base64url_encode(*evidence)}, {"runtime_data", crypto::base64url_encode(runtime)}});
  if (!response || response->status != 200) {
    caller.error = response ? response->body : response.error().to_string();
    return caller;
  }
  auto body = nlohmann::json::parse(response->body, nullptr, false);
  caller.token = body.is_object() ? body.value("token", std::string()) : std::string();
  if (caller.token.empty()) caller.error = "no token in " + response->body;
  return caller;
}

std::string sim_measurement(const fs::path& executable) {
  return crypto::hex_encode(crypto::sha384(crypto::as_bytes(read_file(executable))));
}

}  // namespace cloister::testing

#include "dev_environment.h"

#include "cloister/attestation/format_registry.h"
#include "cloister/crypto/keys.h"
#include "cloister/crypto/x509.h"

#include <chrono>
#include <fstream>

namespace cloister::cli {

namespace fs = std::filesystem;

namespace {

Status write_file(const fs::path& path, const std::string& content, fs::perms permissions) {
  auto temporary = path;
  temporary += ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc | std::ios::binary);
    if (!out) return fail(ErrorCode::io_error, "cannot write " + temporary.string());
    fs::permissions(temporary, permissions);
    out << content;
  }
  std::error_code error;
  fs::rename(temporary, path, error);
  if (error) return fail(ErrorCode::io_error, "cannot write " + path.string() + ": " + error.message());
  return {};
}

Status make_ca(const DevEnvironment& environment) {
  auto key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  crypto::CertificateOptions options;
  options.common_name = "Cloister development CA";
  options.is_ca = true;
  auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  options.not_before_unix = now - 3600;
  options.not_after_unix = now + 365LL * 86400;
  auto certificate = crypto::issue_certificate(key.public_key(), options, key, nullptr);
  if (!certificate) return std::unexpected(certificate.error());
  if (auto status = write_file(environment.ca_key, key.pem().reveal(), fs::perms::owner_read | fs::perms::owner_write);
      !status) {
    return status;
  }
  return write_file(environment.ca_certificate, certificate->pem(),
                    fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);
}

}  // namespace

Result<DevEnvironment> prepare_dev_environment(const fs::path& state_dir) {
  DevEnvironment environment;
  environment.state_dir = state_dir;
  environment.ca_certificate = state_dir / "ca.pem";
  environment.ca_key = state_dir / "ca-key.pem";
  environment.sim_platform_key = state_dir / "sim-platform-key.pem";
  environment.sim_platform_public_key = state_dir / "sim-platform.pub.pem";
  environment.logs = state_dir / "logs";

  std::error_code error;
  fs::create_directories(environment.logs, error);
  if (error) return fail(ErrorCode::io_error, "cannot create " + environment.logs.string() + ": " + error.message());
  fs::permissions(state_dir, fs::perms::owner_all, error);

  if (!fs::exists(environment.ca_certificate) || !fs::exists(environment.ca_key)) {
    if (auto status = make_ca(environment); !status) return std::unexpected(status.error());
  }
  auto platform = attestation::sim::load_or_create_platform_key(environment.sim_platform_key);
  if (!platform) return std::unexpected(platform.error());
  if (auto status = write_file(environment.sim_platform_public_key, platform->pem(),
                               fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                                   fs::perms::others_read);
      !status) {
    return std::unexpected(status.error());
  }
  return environment;
}

}  // namespace cloister::cli

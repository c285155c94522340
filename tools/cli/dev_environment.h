#pragma once
// The local development environment `cloister up` keeps in its state directory (default
// .cloister/, created 0700):
//   ca.pem, ca-key.pem            the development CA (ECDSA P-256, 1 year), created on first run;
//                                 it issues each service's certificate for the key that service
//                                 generates at start
//   sim-platform-key.pem          the simulated-platform key that signs sim TEE reports (0600)
//   sim-platform.pub.pem          its public key, which cloister-attest is told to trust
//   attest/ keys/ platform/ infer/  each service's state_dir
//   logs/<service>.log            each service's JSON log

#include "cloister/core/error.h"

#include <filesystem>
#include <string>

namespace cloister::cli {

struct DevEnvironment {
  std::filesystem::path state_dir;
  std::filesystem::path ca_certificate;
  std::filesystem::path ca_key;
  std::filesystem::path sim_platform_key;
  std::filesystem::path sim_platform_public_key;
  std::filesystem::path logs;
};

// Creates what is missing (never replaces an existing CA or platform key).
Result<DevEnvironment> prepare_dev_environment(const std::filesystem::path& state_dir);

}  // namespace cloister::cli

#pragma once
// Helpers shared by the attestation tests: temporary directories, service keys, a sim platform.

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "cloister/attestation/runtime_data.h"
#include "cloister/core/temp_dir.h"
#include "cloister/crypto/bytes.h"
#include "cloister/crypto/keys.h"
#include "cloister/crypto/x25519.h"
#include "formats/sim/sim_attester.h"

namespace cloister::attestation::test {

// A fresh directory under the system temp dir, removed (recursively) on destruction.
using cloister::TempDir;

// What a service generates at start: a TLS key, an HPKE key pair and the runtime data they make.
struct ServiceKeys {
  crypto::PrivateKey tls;
  crypto::X25519KeyPair hpke;
  crypto::Bytes runtime_data;

  static ServiceKeys generate(std::optional<std::string> nonce = std::nullopt);
};

// A sim platform: a key file in its own directory and an attester over the test binary.
struct SimPlatform {
  TempDir directory;
  std::filesystem::path key_path;
  crypto::PublicKey public_key;
  std::unique_ptr<sim::SimAttester> attester;

  explicit SimPlatform(sim::SimAttesterOptions options = {});
};

// The lower-case hex SHA-384 of a file as coreutils' sha384sum computes it (an independent
// implementation), or "" on failure.
std::string sha384sum(const std::filesystem::path& path);

}  // namespace cloister::attestation::test

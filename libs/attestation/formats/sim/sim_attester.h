#pragma once
// The sim attester: a software "TEE" for development and tests. It measures its executable and signs
// reports with a simulated-platform private key read from a PEM file. It proves nothing about
// hardware (docs/tokens.md, "The sim TEE's honest limits").

#include <cstdint>
#include <filesystem>

#include "cloister/attestation/attester.h"
#include "cloister/core/error.h"
#include "cloister/crypto/bytes.h"
#include "cloister/crypto/keys.h"

namespace cloister::attestation::sim {

struct SimAttesterOptions {
  std::filesystem::path platform_key_path;                  // PEM private key, ECDSA P-256
  std::filesystem::path executable_path = "/proc/self/exe";  // what is measured
  std::uint32_t product_id = 0;
  std::uint32_t svn = 0;
  bool debuggable = false;
};

// SHA-384 of a file, read in chunks (io_error when unreadable).
Result<crypto::Bytes> measure_executable(const std::filesystem::path& path);

// Loads the platform key at `path`, or generates an ECDSA P-256 key and writes it there (PEM,
// mode 0600) when no file exists. Returns its public key (what verifiers are configured with).
Result<crypto::PublicKey> load_or_create_platform_key(const std::filesystem::path& path);

class SimAttester final : public Attester {
 public:
  // Reads the platform key (io_error, bad_key unless ECDSA P-256) and measures the executable once.
  static Result<SimAttester> create(const SimAttesterOptions& options);

  std::string_view format_id() const override;
  Result<crypto::Bytes> evidence(crypto::BytesView report_data) override;

  const crypto::Bytes& measurement() const { return measurement_; }
  const crypto::PublicKey& platform_public_key() const { return platform_public_key_; }

 private:
  SimAttester(SimAttesterOptions options, crypto::PrivateKey key, crypto::PublicKey public_key,
              crypto::Bytes measurement);

  SimAttesterOptions options_;
  crypto::PrivateKey platform_key_;
  crypto::PublicKey platform_public_key_;
  crypto::Bytes measurement_;
};

}  // namespace cloister::attestation::sim

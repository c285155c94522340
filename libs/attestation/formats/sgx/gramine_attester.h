#pragma once
// The sgx attester under Gramine: Gramine's /dev/attestation pseudo-files (Gramine
// Documentation/attestation.rst). evidence(report_data) writes the 64 bytes to
// <root>/dev/attestation/user_report_data and reads the DCAP quote v3 Gramine then produces from
// <root>/dev/attestation/quote. The root is "/" inside Gramine; tests point it at a directory laid
// out the same way.

#include <filesystem>

#include "cloister/attestation/attester.h"
#include "cloister/core/error.h"

namespace cloister::attestation::sgx {

struct GramineAttesterOptions {
  std::filesystem::path root = "/";
};

class GramineAttester final : public Attester {
 public:
  // Reads <root>/dev/attestation/attestation_type: io_error when absent (not running under Gramine),
  // config_invalid unless it says "dcap" (the manifest must set sgx.remote_attestation = "dcap").
  static Result<GramineAttester> create(const GramineAttesterOptions& options);

  std::string_view format_id() const override;

  // invalid_argument unless report_data is 64 bytes; io_error when the pseudo-files cannot be
  // written or read; evidence_malformed when what Gramine returns is not an SGX DCAP quote;
  // internal when the quote does not carry the report data just written (another writer raced).
  // The /dev/attestation files are process-wide: calls are serialised across all instances.
  Result<crypto::Bytes> evidence(crypto::BytesView report_data) override;

 private:
  explicit GramineAttester(std::filesystem::path root) : root_(std::move(root)) {}

  std::filesystem::path root_;
};

}  // namespace cloister::attestation::sgx

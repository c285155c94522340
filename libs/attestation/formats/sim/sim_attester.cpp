#include "formats/sim/sim_attester.h"

#include <fstream>
#include <system_error>

#include "cloister/crypto/ecdsa.h"
#include "cloister/crypto/hash.h"
#include "cloister/core/private_files.h"
#include "formats/sim/sim_report.h"

namespace cloister::attestation::sim {
namespace {

constexpr std::size_t kChunkSize = 64 * 1024;
constexpr std::size_t kMaxKeyFileSize = 16 * 1024;

Result<crypto::PrivateKey> read_platform_key(const std::filesystem::path& path) {
  auto pem = read_file(path, kMaxKeyFileSize);
  if (!pem) return std::unexpected(pem.error());
  auto key = crypto::PrivateKey::from_pem(*pem);
  if (!key) return fail(key.error().code, "sim platform key " + path.string() + ": " + key.error().detail);
  if (key->type() != crypto::KeyType::ec_p256) {
    return fail(ErrorCode::bad_key, "sim platform key " + path.string() + " is not ECDSA P-256");
  }
  return std::move(*key);
}

}  // namespace

Result<crypto::Bytes> measure_executable(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorCode::io_error, "cannot open " + path.string() + " to measure it");
  crypto::Hasher hasher(crypto::HashAlgorithm::sha384);
  std::vector<char> chunk(kChunkSize);
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    const auto count = static_cast<std::size_t>(in.gcount());
    if (count > 0) hasher.update({reinterpret_cast<const std::uint8_t*>(chunk.data()), count});
  }
  if (in.bad()) return fail(ErrorCode::io_error, "cannot read " + path.string() + " to measure it");
  return hasher.finish();
}

Result<crypto::PublicKey> load_or_create_platform_key(const std::filesystem::path& path) {
  std::error_code error;
  if (!std::filesystem::exists(path, error)) {
    const auto key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
    if (auto written = write_private_file(path, key.pem().reveal()); !written) {
      return std::unexpected(written.error());
    }
  }
  auto key = read_platform_key(path);
  if (!key) return std::unexpected(key.error());
  return key->public_key();
}

Result<SimAttester> SimAttester::create(const SimAttesterOptions& options) {
  auto key = read_platform_key(options.platform_key_path);
  if (!key) return std::unexpected(key.error());
  auto measurement = measure_executable(options.executable_path);
  if (!measurement) return std::unexpected(measurement.error());
  auto public_key = key->public_key();
  return SimAttester(options, std::move(*key), std::move(public_key), std::move(*measurement));
}

SimAttester::SimAttester(SimAttesterOptions options, crypto::PrivateKey key, crypto::PublicKey public_key,
                         crypto::Bytes measurement)
    : options_(std::move(options)),
      platform_key_(std::move(key)),
      platform_public_key_(std::move(public_key)),
      measurement_(std::move(measurement)) {}

std::string_view SimAttester::format_id() const { return kFormatId; }

Result<crypto::Bytes> SimAttester::evidence(crypto::BytesView report_data) {
  if (report_data.size() != kReportDataSize) {
    return fail(ErrorCode::invalid_argument, "report data must be 64 bytes");
  }
  SimReport report;
  report.debuggable = options_.debuggable;
  report.product_id = options_.product_id;
  report.svn = options_.svn;
  std::copy(measurement_.begin(), measurement_.end(), report.measurement.begin());
  std::copy(report_data.begin(), report_data.end(), report.report_data.begin());
  report.platform_key_id = platform_key_id(platform_public_key_);
  auto der = crypto::ecdsa_sign(platform_key_, crypto::HashAlgorithm::sha256, serialize_signed_part(report));
  if (!der) return std::unexpected(der.error());
  auto signature = crypto::ecdsa_der_to_raw(*der, kSignatureSize / 2);
  if (!signature) return std::unexpected(signature.error());
  if (signature->size() != kSignatureSize) return fail(ErrorCode::crypto_failure, "unexpected signature size");
  std::copy(signature->begin(), signature->end(), report.signature.begin());
  return serialize(report);
}

}  // namespace cloister::attestation::sim

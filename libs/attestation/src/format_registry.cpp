#include "cloister/attestation/format_registry.h"

#include "formats/dcap/dcap_collateral.h"
#include "formats/sgx/sgx_verifier.h"
#include "formats/sim/sim_verifier.h"
#include "formats/tdx/tdx_verifier.h"
#include "formats/snp/snp_collateral.h"
#include "formats/snp/snp_verifier.h"
#include "formats/tsm/tsm_attester.h"
#include "safe_text.h"

namespace cloister::attestation {

// THE list of formats. One line per format; keep sim last (it is the development-only one).
std::vector<std::unique_ptr<EvidenceVerifier>> make_evidence_verifiers(const FormatConfig& config) {
  std::vector<std::unique_ptr<EvidenceVerifier>> verifiers;
  verifiers.push_back(std::make_unique<sgx::SgxVerifier>(config.dcap));
  verifiers.push_back(std::make_unique<tdx::TdxVerifier>(config.dcap));
  verifiers.push_back(std::make_unique<snp::SnpVerifier>(config.snp_trusted_arks));
  verifiers.push_back(std::make_unique<sim::SimVerifier>(config.sim_platform_keys));
  return verifiers;
}

Result<const EvidenceVerifier*> find(const std::vector<std::unique_ptr<EvidenceVerifier>>& verifiers,
                                     std::string_view format) {
  for (const auto& verifier : verifiers) {
    if (verifier->format_id() == format) return verifier.get();
  }
  return fail(ErrorCode::unsupported_format, "no verifier for format \"" + detail::safe_text(format) + "\"");
}

Result<Collateral> load_collateral_files(std::string_view format, const std::vector<std::filesystem::path>& paths) {
  // One branch per format that reads collateral files.
  if (format == sim::kFormatId) {
    if (!paths.empty()) return fail(ErrorCode::invalid_argument, "the sim format takes no collateral");
    return Collateral{};
  }
  if (format == snp::kFormatId) return snp::load_collateral_files(paths);
  if (format == sgx::kFormatId || format == tdx::kFormatId) return dcap::load_collateral_files(format, paths);
  return fail(ErrorCode::unsupported_format, "no collateral reader for format \"" + detail::safe_text(format) + "\"");
}

Result<Collateral> load_collateral_store(std::string_view format, const std::filesystem::path& store,
                                         BytesView evidence) {
  (void)store;
  (void)evidence;
  // One branch per format whose collateral an operator keeps in the store.
  if (format == sim::kFormatId) return Collateral{};
  if (format == snp::kFormatId) return snp::load_collateral_store(store, evidence);
  if (format == sgx::kFormatId || format == tdx::kFormatId) return dcap::load_collateral_store(format, store, evidence);
  return fail(ErrorCode::unsupported_format, "no collateral store for format \"" + detail::safe_text(format) + "\"");
}

Result<std::unique_ptr<Attester>> make_attester(std::string_view format, const AttesterConfig& config) {
  if (format == sim::kFormatId) {
    auto attester = sim::SimAttester::create(config.sim);
    if (!attester) return std::unexpected(attester.error());
    return std::make_unique<sim::SimAttester>(std::move(*attester));
  }
  if (format == sgx::kFormatId) {
    auto attester = sgx::GramineAttester::create(config.gramine);
    if (!attester) return std::unexpected(attester.error());
    return std::make_unique<sgx::GramineAttester>(std::move(*attester));
  }
  // configfs-tsm for snp and tdx (a TDX guest on Linux 6.7+ has no other quote interface we support).
  if (format == snp::kFormatId || format == tdx::kFormatId) {
    auto attester = tsm::TsmAttester::create(format, config.tsm);
    if (!attester) return std::unexpected(attester.error());
    return std::make_unique<tsm::TsmAttester>(std::move(*attester));
  }
  return fail(ErrorCode::unsupported_format, "no attester for format \"" + detail::safe_text(format) + "\"");
}

}  // namespace cloister::attestation

#include "cloister/attestation/format_registry.h"

#include "formats/sim/sim_verifier.h"
#include "safe_text.h"

namespace cloister::attestation {

// THE list of formats. One line per format; keep sim last (it is the development-only one).
std::vector<std::unique_ptr<EvidenceVerifier>> make_evidence_verifiers(const FormatConfig& config) {
  std::vector<std::unique_ptr<EvidenceVerifier>> verifiers;
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

Result<std::unique_ptr<Attester>> make_attester(std::string_view format, const AttesterConfig& config) {
  if (format == sim::kFormatId) {
    auto attester = sim::SimAttester::create(config.sim);
    if (!attester) return std::unexpected(attester.error());
    return std::make_unique<sim::SimAttester>(std::move(*attester));
  }
  return fail(ErrorCode::unsupported_format, "no attester for format \"" + detail::safe_text(format) + "\"");
}

}  // namespace cloister::attestation

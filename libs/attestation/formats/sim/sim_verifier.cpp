#include "formats/sim/sim_verifier.h"

#include "cloister/crypto/ecdsa.h"
#include "cloister/crypto/hash.h"

namespace cloister::attestation::sim {

SimVerifier::SimVerifier(std::vector<crypto::PublicKey> trusted_platform_keys) {
  for (auto& key : trusted_platform_keys) {
    if (key.type() != crypto::KeyType::ec_p256) continue;  // only P-256 platform keys can sign sim reports
    auto id = platform_key_id(key);
    trusted_.push_back(TrustedKey{id, std::move(key)});
  }
}

std::string_view SimVerifier::format_id() const { return kFormatId; }

Result<VerifiedEvidence> SimVerifier::verify_format(const Evidence& evidence, const Collateral& /*collateral*/,
                                                    const VerificationContext& /*context*/) const {
  auto report = parse(evidence.evidence);
  if (!report) return std::unexpected(report.error());

  const TrustedKey* trusted = nullptr;
  for (const auto& candidate : trusted_) {
    if (candidate.id == report->platform_key_id) {
      trusted = &candidate;
      break;
    }
  }
  if (trusted == nullptr) {
    return fail(ErrorCode::evidence_untrusted_platform,
                "sim platform key " + crypto::hex_encode(report->platform_key_id) + " is not trusted");
  }
  const crypto::BytesView signed_part = crypto::BytesView(evidence.evidence).first(kSignedSize);
  auto der = crypto::ecdsa_raw_to_der(report->signature);
  if (!der) return fail(ErrorCode::evidence_signature_invalid, "the sim report signature is malformed");
  if (!crypto::ecdsa_verify(trusted->key, crypto::HashAlgorithm::sha256, signed_part, *der)) {
    return fail(ErrorCode::evidence_signature_invalid, "the sim report signature does not verify");
  }

  VerifiedEvidence out;
  out.format = std::string(kFormatId);
  out.claims.tee = std::string(tee::kSim);
  out.claims.measurement = crypto::hex_encode(report->measurement);
  out.claims.product_id = report->product_id;
  out.claims.svn = report->svn;
  out.claims.debuggable = report->debuggable;
  out.claims.tcb_status = std::string(tcb_status::kSimulated);
  out.claims.report_data.assign(report->report_data.begin(), report->report_data.end());
  out.format_claims = {{kClaimVersion, report->version},
                       {kClaimPlatformKeyId, crypto::hex_encode(report->platform_key_id)}};
  return out;
}

}  // namespace cloister::attestation::sim

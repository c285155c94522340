#include "formats/snp/snp_verifier.h"

#include "cloister/crypto/ecdsa.h"
#include "cloister/crypto/hash.h"
#include "formats/snp/snp_certs.h"
#include "formats/snp/snp_collateral.h"
#include "formats/snp/snp_report.h"

namespace cloister::attestation::snp {
namespace {

nlohmann::json tcb_json(const TcbVersion& tcb) {
  nlohmann::json out = {{format_claim::kTcbBootloader, tcb.bootloader},
                        {format_claim::kTcbTee, tcb.tee},
                        {format_claim::kTcbSnp, tcb.snp},
                        {format_claim::kTcbMicrocode, tcb.microcode}};
  if (tcb.fmc) out[std::string(format_claim::kTcbFmc)] = *tcb.fmc;
  return out;
}

std::string tcb_text(const TcbVersion& tcb) {
  std::string text = "bootloader " + std::to_string(tcb.bootloader) + ", tee " + std::to_string(tcb.tee) + ", snp " +
                     std::to_string(tcb.snp) + ", microcode " + std::to_string(tcb.microcode);
  if (tcb.fmc) text += ", fmc " + std::to_string(*tcb.fmc);
  return text;
}

// Whether every component of `reported` is at most the certificate's.
bool tcb_at_most(const TcbVersion& reported, const TcbVersion& certified) {
  return reported.bootloader <= certified.bootloader && reported.tee <= certified.tee &&
         reported.snp <= certified.snp && reported.microcode <= certified.microcode &&
         reported.fmc.value_or(0) <= certified.fmc.value_or(0);
}

// The product a v3+ report's CPUID names (family 19h: Milan models 00h-0Fh, Genoa 10h-1Fh and
// A0h-AFh; family 1Ah: Turin); nullopt when unknown or absent (v2).
std::optional<Generation> generation_from_cpuid(const SnpReport& report) {
  if (report.version < 3) return std::nullopt;
  if (report.cpuid_family == 0x19) {
    if (report.cpuid_model <= 0x0f) return Generation::milan;
    if ((report.cpuid_model >= 0x10 && report.cpuid_model <= 0x1f) ||
        (report.cpuid_model >= 0xa0 && report.cpuid_model <= 0xaf)) {
      return Generation::genoa;
    }
    return std::nullopt;
  }
  if (report.cpuid_family == 0x1a) return Generation::turin;
  return std::nullopt;
}

Error mismatch(std::string detail) { return Error{ErrorCode::evidence_collateral_mismatch, std::move(detail)}; }

}  // namespace

SnpVerifier::SnpVerifier(std::vector<crypto::Certificate> trusted_arks)
    : arks_(trusted_arks.empty() ? default_arks() : std::move(trusted_arks)) {}

std::string_view SnpVerifier::format_id() const { return kFormatId; }

bool SnpVerifier::is_pinned(const crypto::Certificate& certificate) const {
  const auto spki = certificate.public_key().spki_der();
  for (const auto& ark : arks_) {
    if (ark.public_key().spki_der() == spki) return true;
  }
  return false;
}

Result<VerifiedEvidence> SnpVerifier::verify_format(const Evidence& evidence, const Collateral& collateral,
                                                    const VerificationContext& context) const {
  auto parsed = parse_evidence(evidence.evidence);
  if (!parsed) return std::unexpected(parsed.error());
  const SnpReport& report = parsed->report;
  const SigningKey kind = report.signing_key();
  if (kind == SigningKey::none) {
    return fail(ErrorCode::evidence_signature_invalid, "the SNP report is not signed (SIGNING_KEY 7)");
  }
  const std::string kind_name(to_string(kind));

  auto documents = read_collateral(collateral);
  if (!documents) return std::unexpected(documents.error());

  // The signing-key certificate: the collateral's, else the one the evidence carries.
  std::optional<crypto::Certificate> leaf = kind == SigningKey::vlek ? documents->vlek : documents->vcek;
  if (!leaf) {
    if (const auto* der = parsed->certificate(kind == SigningKey::vlek ? kGuidVlek : kGuidVcek)) {
      auto certificate = crypto::Certificate::from_der(*der);
      if (!certificate) {
        return fail(ErrorCode::evidence_malformed,
                    "the evidence's " + kind_name + " certificate: " + certificate.error().detail);
      }
      leaf = std::move(*certificate);
    }
  }
  if (!leaf) {
    return fail(ErrorCode::collateral_missing, "no " + kind_name + " certificate: give collateral \"" + kind_name +
                                                   "\" or evidence with a certificate table");
  }

  // The chain above it: the collateral's cert_chain, else the ASK/ASVK and ARK the evidence carries.
  std::vector<crypto::Certificate> chain = documents->cert_chain;
  if (chain.empty()) {
    for (const Guid& guid : {kGuidAsk, kGuidArk}) {
      if (const auto* der = parsed->certificate(guid)) {
        auto certificate = crypto::Certificate::from_der(*der);
        if (!certificate) {
          return fail(ErrorCode::evidence_malformed, "a certificate in the evidence: " + certificate.error().detail);
        }
        chain.push_back(std::move(*certificate));
      }
    }
  }
  for (const auto& certificate : chain) {
    if (certificate.subject() == certificate.issuer() && !is_pinned(certificate)) {
      return fail(ErrorCode::cert_chain_invalid,
                  "the chain names a root the verifier does not pin (" + common_name(certificate.subject()) + ")");
    }
  }

  const std::int64_t now = context.clock.unix_seconds();
  std::vector<crypto::Crl> crls;
  if (documents->crl) {
    const auto& crl = *documents->crl;
    if (now < crl.this_update_unix() || (crl.next_update_unix() != 0 && now > crl.next_update_unix())) {
      return fail(ErrorCode::collateral_stale, "the AMD CRL is outside its validity period");
    }
    bool signed_by_ark = false;
    for (const auto& ark : arks_) signed_by_ark = signed_by_ark || crl.verify_signature(ark.public_key()).has_value();
    if (!signed_by_ark) return fail(ErrorCode::cert_chain_invalid, "the CRL is not signed by a pinned ARK");
    crls.push_back(crl);
  }

  crypto::ChainVerifyOptions options;
  options.pinned_roots = arks_;
  options.crls = std::move(crls);
  options.at_unix = now;
  if (auto verified = crypto::verify_chain(*leaf, chain, options); !verified) {
    return fail(verified.error().code, "the " + kind_name + " chain: " + verified.error().detail);
  }

  auto endorsed = read_signing_key_certificate(*leaf);
  if (!endorsed) return std::unexpected(endorsed.error());
  if (endorsed->kind != kind) {
    return std::unexpected(mismatch("the report is signed by its " + kind_name + " but the certificate is a " +
                                    std::string(to_string(endorsed->kind))));
  }

  auto der = signature_der(report);
  if (!der) return std::unexpected(der.error());
  const auto signed_part = crypto::BytesView(evidence.evidence).first(kSignedSize);
  if (!crypto::ecdsa_verify(endorsed->certificate.public_key(), crypto::HashAlgorithm::sha384, signed_part, *der)) {
    return fail(ErrorCode::evidence_signature_invalid, "the SNP report signature does not verify with the " + kind_name);
  }

  // What the certificate endorses must cover what the report says.
  const TcbVersion reported = decode_tcb(report.reported_tcb, endorsed->generation);
  if (!tcb_at_most(reported, endorsed->tcb)) {
    return std::unexpected(mismatch("the reported TCB (" + tcb_text(reported) + ") exceeds the " + kind_name + "'s (" +
                                    tcb_text(endorsed->tcb) + ")"));
  }
  if (kind == SigningKey::vcek && !report.chip_id_masked()) {
    const auto& hw_id = *endorsed->hw_id;  // read_signing_key_certificate requires it on a VCEK
    if (!std::equal(hw_id.begin(), hw_id.end(), report.chip_id.begin())) {
      return std::unexpected(mismatch("the VCEK's hwID is not the report's CHIP_ID"));
    }
  }
  if (auto product = generation_from_cpuid(report); product && *product != endorsed->generation) {
    return std::unexpected(mismatch("the report's CPUID names " + std::string(to_string(*product)) + ", the " +
                                    kind_name + " " + std::string(to_string(endorsed->generation))));
  }

  VerifiedEvidence out;
  out.format = std::string(kFormatId);
  out.claims.tee = std::string(tee::kSnp);
  out.claims.measurement = crypto::hex_encode(report.measurement);
  out.claims.product_id = 0;
  out.claims.svn = report.guest_svn;
  out.claims.debuggable = report.debuggable();
  out.claims.tcb_status = std::string(tcb_status::kUpToDate);
  out.claims.report_data.assign(report.report_data.begin(), report.report_data.end());
  out.format_claims = {
      {format_claim::kVersion, report.version},
      {format_claim::kGuestSvn, report.guest_svn},
      {format_claim::kPolicy, report.policy},
      {format_claim::kVmpl, report.vmpl},
      {format_claim::kSigningKey, kind_name},
      {format_claim::kProduct, std::string(to_string(endorsed->generation))},
      {format_claim::kProductName, endorsed->product_name},
      {format_claim::kFamilyId, crypto::hex_encode(report.family_id)},
      {format_claim::kImageId, crypto::hex_encode(report.image_id)},
      {format_claim::kHostData, crypto::hex_encode(report.host_data)},
      {format_claim::kChipId, crypto::hex_encode(report.chip_id)},
      {format_claim::kIdKeyDigest, crypto::hex_encode(report.id_key_digest)},
      {format_claim::kAuthorKeyDigest, crypto::hex_encode(report.author_key_digest)},
      {format_claim::kPlatformInfo, report.platform_info},
      {format_claim::kReportedTcb, tcb_json(reported)},
      {format_claim::kCurrentTcb, tcb_json(decode_tcb(report.current_tcb, endorsed->generation))},
      {format_claim::kCommittedTcb, tcb_json(decode_tcb(report.committed_tcb, endorsed->generation))},
  };
  return out;
}

}  // namespace cloister::attestation::snp

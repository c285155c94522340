#include "formats/dcap/dcap_verifier.h"

#include <algorithm>
#include <cstdio>

#include "cloister/attestation/claims.h"
#include "cloister/crypto/ecdsa.h"
#include "cloister/crypto/hash.h"
#include "cloister/crypto/keys.h"
#include "formats/dcap/dcap_collateral.h"
#include "formats/dcap/dcap_util.h"
#include "formats/dcap/intel_root_ca.h"

namespace cloister::attestation::dcap {
namespace {

using crypto::Bytes;
using crypto::BytesView;

Status verify_raw_signature(const crypto::PublicKey& key, BytesView message, BytesView raw_signature, ErrorCode code,
                            std::string_view what) {
  auto der = crypto::ecdsa_raw_to_der(raw_signature);
  if (!der || !crypto::ecdsa_verify(key, crypto::HashAlgorithm::sha256, message, *der)) {
    return fail(code, std::string(what) + " does not verify");
  }
  return {};
}

bool is_pinned_key(const crypto::Certificate& certificate, const std::vector<crypto::Certificate>& roots) {
  const Bytes spki = certificate.public_key().spki_der();
  return std::any_of(roots.begin(), roots.end(),
                     [&](const crypto::Certificate& root) { return root.public_key().spki_der() == spki; });
}

std::string time_text(std::int64_t unix_seconds) { return detail::format_pcs_time(unix_seconds); }

Status check_validity(std::string_view what, std::int64_t issued, std::int64_t next_update, std::int64_t now) {
  if (now < issued) {
    return fail(ErrorCode::collateral_stale, std::string(what) + " is not valid before " + time_text(issued));
  }
  if (next_update == 0) return fail(ErrorCode::collateral_stale, std::string(what) + " has no nextUpdate");
  if (now > next_update) {
    return fail(ErrorCode::collateral_stale,
                std::string(what) + " expired at its nextUpdate " + time_text(next_update));
  }
  return {};
}

// A collateral issuer chain (TCB Signing [, root]). The signer is its one certificate that is not
// self-issued: the Intel SGX TCB Signing certificate — not a CA, named so, issued directly by a
// pinned root (so no other Intel-issued key, e.g. a PCK key extracted from a platform, can sign TCB
// information). It must be valid at `now` (else the collateral is stale) and not on the root CA CRL.
Result<crypto::Certificate> verify_issuer_chain(std::string_view what, const std::vector<crypto::Certificate>& chain,
                                                const std::vector<crypto::Certificate>& roots,
                                                const crypto::Crl& root_crl, std::int64_t now) {
  std::optional<crypto::Certificate> signer;
  for (const auto& certificate : chain) {
    if (is_self_issued(certificate)) continue;  // the anchor is the pinned root, not a supplied one
    if (signer)
      return fail(ErrorCode::cert_chain_invalid,
                  std::string(what) + " holds more than the TCB Signing certificate and the root");
    signer = certificate;
  }
  if (!signer) return fail(ErrorCode::cert_chain_invalid, std::string(what) + " holds no signing certificate");
  if (signer->is_ca() || signer->subject().find("SGX TCB Signing") == std::string::npos) {
    return fail(ErrorCode::cert_chain_invalid, std::string(what) + " is not signed by an SGX TCB Signing certificate");
  }
  auto verified = crypto::verify_chain(*signer, {}, crypto::ChainVerifyOptions{.pinned_roots = roots, .at_unix = now});
  if (!verified) {
    const ErrorCode code =
        verified.error().code == ErrorCode::cert_expired ? ErrorCode::collateral_stale : verified.error().code;
    return fail(code, std::string(what) + ": " + verified.error().detail);
  }
  if (root_crl.is_revoked(*signer)) return fail(ErrorCode::cert_revoked, std::string(what) + " signer is revoked");
  return std::move(*signer);
}

Status verify_signed_document(std::string_view what, const SignedDocument& document,
                              const std::vector<crypto::Certificate>& roots, const crypto::Crl& root_crl,
                              std::int64_t now, std::int64_t& expiration) {
  DCAP_TRY(signer,
           verify_issuer_chain(std::string(what) + " issuer chain", document.issuer_chain, roots, root_crl, now));
  expiration = std::min(expiration, signer.not_after_unix());
  return verify_raw_signature(signer.public_key(), crypto::as_bytes(document.body), document.signature,
                              ErrorCode::signature_invalid, std::string(what) + " signature");
}

template <std::size_t N>
bool masked_equal(const std::array<std::uint8_t, N>& value, const std::array<std::uint8_t, N>& mask,
                  const std::array<std::uint8_t, N>& expected) {
  for (std::size_t i = 0; i < N; ++i) {
    if ((value[i] & mask[i]) != expected[i]) return false;
  }
  return true;
}

Result<IdentityTcbLevel> match_identity_level(std::string_view what, const std::vector<IdentityTcbLevel>& levels,
                                              std::uint16_t isv_svn) {
  for (const auto& level : levels) {
    if (level.isv_svn <= isv_svn) return level;
  }
  return fail(ErrorCode::tcb_level_not_found,
              "no " + std::string(what) + " TCB level for ISVSVN " + std::to_string(isv_svn));
}

bool components_at_least(const std::array<std::uint8_t, 16>& have, const std::array<std::uint8_t, 16>& need,
                         std::size_t from) {
  for (std::size_t i = from; i < 16; ++i) {
    if (have[i] < need[i]) return false;
  }
  return true;
}

void append_unique(std::vector<std::string>& out, const std::vector<std::string>& ids) {
  for (const auto& id : ids) {
    if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
  }
}

std::string hex_upper(std::uint8_t value) {
  char buffer[3];
  std::snprintf(buffer, sizeof buffer, "%02X", value);
  return buffer;
}

std::string upper(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c); });
  return text;
}

// The TDX module: its identity (tdxModuleIdentities["TDX_<version>"] for module versions > 0, else
// tdxModule) must match MRSIGNERSEAM and SEAMATTRIBUTES; a versioned identity gives a TCB level.
Result<TdxModuleResult> check_tdx_module(const Quote& quote, const TcbInfo& tcb_info) {
  const TdReportBody& td = *quote.td_body;
  TdxModuleResult result;
  result.isv_svn = td.tee_tcb_svn[0];
  result.version = td.tee_tcb_svn[1];
  const TdxModuleIdentity* expected = tcb_info.tdx_module ? &*tcb_info.tdx_module : nullptr;
  const bool versioned = quote.header.version > 3 && result.version > 0;
  if (versioned) {
    const std::string wanted = "TDX_" + hex_upper(result.version);
    expected = nullptr;
    for (const auto& identity : tcb_info.tdx_module_identities) {
      if (upper(identity.id) == wanted) expected = &identity;
    }
    if (expected == nullptr) {
      return fail(ErrorCode::tdx_module_mismatch, "the TCB info has no TDX module identity " + wanted);
    }
    result.id = expected->id;
  }
  if (expected == nullptr) return fail(ErrorCode::tdx_module_mismatch, "the TCB info has no tdxModule");
  if (td.mr_signer_seam != expected->mr_signer) {
    return fail(ErrorCode::tdx_module_mismatch, "MRSIGNERSEAM is not the TDX module signer of the TCB info");
  }
  if (!masked_equal(td.seam_attributes, expected->attributes_mask, expected->attributes)) {
    return fail(ErrorCode::tdx_module_mismatch, "SEAMATTRIBUTES do not match the TDX module identity");
  }
  if (versioned) {
    DCAP_TRY(level, match_identity_level("TDX module " + result.id, expected->tcb_levels, result.isv_svn));
    result.tcb_level = level;
  }
  return result;
}

}  // namespace

std::string converge_tcb_status(const std::string& platform_status, const std::string& other_status) {
  if (other_status == tcb_status::kOutOfDate) {
    if (platform_status == tcb_status::kUpToDate || platform_status == tcb_status::kSwHardeningNeeded) {
      return std::string(tcb_status::kOutOfDate);
    }
    if (platform_status == tcb_status::kConfigurationNeeded ||
        platform_status == tcb_status::kConfigurationAndSwHardeningNeeded) {
      return std::string(tcb_status::kOutOfDateConfigurationNeeded);
    }
  }
  if (other_status == tcb_status::kRevoked) return std::string(tcb_status::kRevoked);
  return platform_status;
}

DcapVerifier::DcapVerifier(DcapVerifierOptions options)
    : roots_(std::move(options.root_cas)), ignore_crl_freshness_(options.ignore_crl_freshness) {
  if (roots_.empty()) roots_.push_back(intel_sgx_root_ca());
}

Status DcapVerifier::check_signed_by_pinned_root(const crypto::Crl& crl) const {
  for (const auto& root : roots_) {
    if (crl.issuer() == root.subject() && crl.verify_signature(root.public_key())) return {};
  }
  return fail(ErrorCode::signature_invalid, "the root CA CRL is not signed by a pinned root");
}

Result<CheckedQuote> DcapVerifier::check_quote(BytesView evidence, std::uint32_t tee_type, const Collateral& collateral,
                                               std::int64_t now) const {
  DCAP_TRY(quote, parse_quote(evidence));
  if (quote.header.tee_type != tee_type) {
    return fail(ErrorCode::evidence_malformed,
                std::string("the quote is ") + (quote.is_tdx() ? "a TDX" : "an SGX") + " quote");
  }
  if (quote.header.attestation_key_type != kAttestationKeyTypeEcdsaP256) {
    return fail(ErrorCode::evidence_malformed, "unsupported attestation key type " +
                                                   std::to_string(quote.header.attestation_key_type) +
                                                   " (only 2, ECDSA P-256)");
  }
  if (quote.header.qe_vendor_id != kIntelQeVendorId) {
    return fail(ErrorCode::evidence_untrusted_platform, "the quote was not produced by Intel's quoting enclave");
  }

  // The quote signature by the attestation key over header ‖ body.
  const BytesView key_bytes(quote.attestation_key);
  auto attestation_key =
      crypto::PublicKey::from_ec_point(crypto::KeyType::ec_p256, key_bytes.first(32), key_bytes.last(32));
  if (!attestation_key) {
    return fail(ErrorCode::evidence_signature_invalid, "the attestation key is not a P-256 point");
  }
  DCAP_CHECK(verify_raw_signature(*attestation_key, quote.signed_data, quote.signature,
                                  ErrorCode::evidence_signature_invalid, "the quote signature"));

  // The QE binds the attestation key: QE REPORTDATA = SHA-256(attestation key ‖ QE auth data) ‖ 0^32.
  const Bytes binding = crypto::sha256(crypto::concat(quote.attestation_key, quote.qe_auth_data));
  const auto& qe_report_data = quote.qe_report.report_data;
  if (!std::equal(binding.begin(), binding.end(), qe_report_data.begin()) ||
      !std::all_of(qe_report_data.begin() + 32, qe_report_data.end(), [](std::uint8_t b) { return b == 0; })) {
    return fail(ErrorCode::evidence_signature_invalid,
                "the QE report data does not bind the attestation key and QE auth data");
  }

  // The PCK chain: in the quote (type 5), or given as collateral for quotes without one.
  std::optional<PckChain> chain;
  if (quote.certification_type == kCertificationPckChain) {
    DCAP_TRY(parsed, parse_quote_pck_chain(quote.certification_data));
    chain = std::move(parsed);
  } else {
    DCAP_TRY(pem, pck_certificate_chain_member(collateral));
    if (!pem) {
      return fail(ErrorCode::collateral_missing,
                  "the quote's certification data (type " + std::to_string(quote.certification_type) +
                      ") carries no PCK chain and the collateral has no " + std::string(member::kPckCertificateChain));
    }
    DCAP_TRY(parsed, parse_collateral_pck_chain(*pem));
    chain = std::move(parsed);
  }
  // leaf ← ca ← root, exactly: the CA named is the one that signed the leaf (its CRL and its
  // revocation are what step 8 checks).
  if (chain->leaf.is_ca() || !chain->ca.is_ca() || chain->leaf.issuer() != chain->ca.subject() ||
      !chain->leaf.verify_signature(chain->ca.public_key())) {
    return fail(ErrorCode::cert_chain_invalid, "the PCK chain is not a PCK certificate issued by the PCK CA it names");
  }
  const crypto::ChainVerifyOptions chain_options{.pinned_roots = roots_, .at_unix = now};
  if (auto verified = crypto::verify_chain(chain->leaf, {chain->ca}, chain_options); !verified) {
    return fail(verified.error().code, "PCK certificate chain: " + verified.error().detail);
  }
  if (chain->root) {
    // The root the quote carries must be a pinned root, intact.
    if (!is_self_issued(*chain->root) || !is_pinned_key(*chain->root, roots_) ||
        !chain->root->verify_signature(chain->root->public_key())) {
      return fail(ErrorCode::cert_chain_invalid, "the PCK chain's root is not a pinned root certificate");
    }
  }
  DCAP_CHECK(verify_raw_signature(chain->leaf.public_key(), quote.qe_report_raw, quote.qe_report_signature,
                                  ErrorCode::evidence_signature_invalid, "the QE report signature (PCK key)"));
  DCAP_TRY(extensions, pck_extensions(chain->leaf));
  auto ca = pck_ca_of(chain->leaf);
  if (!ca)
    return fail(ErrorCode::cert_chain_invalid, "the PCK certificate is not issued by a PCK Platform or Processor CA");
  return CheckedQuote{std::move(quote), std::move(*chain), std::move(extensions), *ca};
}

Result<DcapVerification> DcapVerifier::verify(BytesView evidence, std::uint32_t tee_type, const Collateral& collateral,
                                              std::int64_t now) const {
  DCAP_TRY(checked, check_quote(evidence, tee_type, collateral, now));
  DCAP_TRY(documents, decode_collateral(collateral));
  const Quote& quote = checked.quote;
  const PckChain& chain = checked.pck_chain;
  std::int64_t expiration = std::min(chain.leaf.not_after_unix(), chain.ca.not_after_unix());

  // Root CA CRL: signed by a pinned root, current, not listing the PCK CA.
  DCAP_CHECK(check_signed_by_pinned_root(documents.root_ca_crl));
  if (!ignore_crl_freshness_) {
    DCAP_CHECK(check_validity("the root CA CRL", documents.root_ca_crl.this_update_unix(),
                              documents.root_ca_crl.next_update_unix(), now));
  }
  if (documents.root_ca_crl.is_revoked(chain.ca)) {
    return fail(ErrorCode::cert_revoked, "the PCK CA certificate is revoked by the root CA CRL");
  }
  // PCK CRL: issued by the PCK leaf's CA (platform or processor), current, not listing the leaf.
  if (documents.pck_crl.issuer() != chain.leaf.issuer()) {
    return fail(ErrorCode::evidence_collateral_mismatch, "the PCK CRL is not issued by the PCK certificate's CA (" +
                                                             std::string(to_string(checked.pck_ca)) + ")");
  }
  if (!documents.pck_crl.verify_signature(chain.ca.public_key())) {
    return fail(ErrorCode::signature_invalid, "the PCK CRL signature does not verify with the PCK CA key");
  }
  if (!ignore_crl_freshness_) {
    DCAP_CHECK(
        check_validity("the PCK CRL", documents.pck_crl.this_update_unix(), documents.pck_crl.next_update_unix(), now));
    expiration = std::min({expiration, documents.root_ca_crl.next_update_unix(), documents.pck_crl.next_update_unix()});
  }
  if (documents.pck_crl.is_revoked(chain.leaf)) {
    return fail(ErrorCode::cert_revoked, "the PCK certificate is revoked by the PCK CRL");
  }
  if (documents.pck_crl_issuer_chain) {
    const auto& issuers = *documents.pck_crl_issuer_chain;
    auto ca = std::find_if(issuers.begin(), issuers.end(), [](const auto& c) { return !is_self_issued(c); });
    if (ca == issuers.end() || ca->public_key() != chain.ca.public_key()) {
      return fail(ErrorCode::evidence_collateral_mismatch, "pck_crl_issuer_chain does not name the quote's PCK CA");
    }
  }

  // TCB info.
  DCAP_CHECK(
      verify_signed_document("the TCB info", documents.tcb_info, roots_, documents.root_ca_crl, now, expiration));
  DCAP_TRY(tcb_info, parse_tcb_info(documents.tcb_info.body));
  const bool tdx = quote.is_tdx();
  if (tcb_info.id != (tdx ? kTcbInfoIdTdx : kTcbInfoIdSgx) || (tdx && tcb_info.version < 3)) {
    return fail(ErrorCode::evidence_collateral_mismatch, "the TCB info (id " + tcb_info.id + ", version " +
                                                             std::to_string(tcb_info.version) + ") is not for " +
                                                             (tdx ? "TDX" : "SGX"));
  }
  DCAP_CHECK(check_validity("the TCB info", tcb_info.issue_date, tcb_info.next_update, now));
  expiration = std::min(expiration, tcb_info.next_update);
  if (tcb_info.fmspc != checked.pck.fmspc) {
    return fail(ErrorCode::evidence_collateral_mismatch,
                "the TCB info is for FMSPC " + crypto::hex_encode(tcb_info.fmspc) + ", the PCK certificate's is " +
                    crypto::hex_encode(checked.pck.fmspc));
  }
  if (tcb_info.pce_id != checked.pck.pce_id) {
    return fail(ErrorCode::evidence_collateral_mismatch, "the TCB info's PCE ID is not the PCK certificate's");
  }

  // QE identity.
  DCAP_CHECK(
      verify_signed_document("the QE identity", documents.qe_identity, roots_, documents.root_ca_crl, now, expiration));
  DCAP_TRY(qe_identity, parse_enclave_identity(documents.qe_identity.body));
  if (qe_identity.id != (tdx ? kQeIdentityIdTdx : kQeIdentityIdSgx)) {
    return fail(ErrorCode::evidence_collateral_mismatch,
                "the QE identity (id " + qe_identity.id + ") is not for " + (tdx ? "TD_QE" : "QE"));
  }
  DCAP_CHECK(check_validity("the QE identity", qe_identity.issue_date, qe_identity.next_update, now));
  expiration = std::min(expiration, qe_identity.next_update);
  const SgxReportBody& qe = quote.qe_report;
  const std::array<std::uint8_t, 4> qe_misc_select{
      static_cast<std::uint8_t>(qe.misc_select & 0xff), static_cast<std::uint8_t>((qe.misc_select >> 8) & 0xff),
      static_cast<std::uint8_t>((qe.misc_select >> 16) & 0xff), static_cast<std::uint8_t>(qe.misc_select >> 24)};
  if (!masked_equal(qe_misc_select, qe_identity.misc_select_mask, qe_identity.misc_select)) {
    return fail(ErrorCode::qe_identity_mismatch, "QE MISCSELECT does not match the QE identity");
  }
  if (!masked_equal(qe.attributes, qe_identity.attributes_mask, qe_identity.attributes)) {
    return fail(ErrorCode::qe_identity_mismatch, "QE ATTRIBUTES do not match the QE identity");
  }
  if (qe.mr_signer != qe_identity.mr_signer) {
    return fail(ErrorCode::qe_identity_mismatch, "QE MRSIGNER is not the QE identity's");
  }
  if (qe.isv_prod_id != qe_identity.isv_prod_id) {
    return fail(ErrorCode::qe_identity_mismatch, "QE ISVPRODID is not the QE identity's");
  }
  DCAP_TRY(qe_level, match_identity_level("QE", qe_identity.tcb_levels, qe.isv_svn));

  // Platform TCB level: the first level whose SGX components and PCESVN the PCK certificate meets;
  // for TDX, the first such level whose TDX components TEE_TCB_SVN also meets (from index 2 when the
  // module version TEE_TCB_SVN[1] is non-zero: those two bytes are judged by the module identity).
  const TcbLevel* sgx_level = nullptr;
  const TcbLevel* platform_level = nullptr;
  for (const auto& level : tcb_info.tcb_levels) {
    if (!components_at_least(checked.pck.tcb_components, level.sgx_components, 0) ||
        checked.pck.pce_svn < level.pce_svn) {
      continue;
    }
    if (sgx_level == nullptr) sgx_level = &level;
    if (!tdx) {
      platform_level = &level;
      break;
    }
    const auto& tee_tcb_svn = quote.td_body->tee_tcb_svn;
    const std::size_t from = quote.header.version > 3 && tee_tcb_svn[1] > 0 ? 2 : 0;
    if (level.tdx_components && components_at_least(tee_tcb_svn, *level.tdx_components, from)) {
      platform_level = &level;
      break;
    }
  }
  if (sgx_level == nullptr || platform_level == nullptr) {
    return fail(ErrorCode::tcb_level_not_found,
                std::string("no TCB level of the TCB info matches the platform's ") +
                    (sgx_level == nullptr ? "SGX components and PCESVN" : "TDX components") + " (TCB not supported)");
  }

  std::vector<std::string> advisory_ids;
  std::string status = platform_level->status;
  append_unique(advisory_ids, platform_level->advisory_ids);
  std::optional<TdxModuleResult> tdx_module;
  if (tdx) {
    DCAP_TRY(module, check_tdx_module(quote, tcb_info));
    if (module.tcb_level) {
      status = converge_tcb_status(status, module.tcb_level->status);
      append_unique(advisory_ids, module.tcb_level->advisory_ids);
    }
    tdx_module = std::move(module);
  }
  if (status != tcb_status::kRevoked) status = converge_tcb_status(status, qe_level.status);
  append_unique(advisory_ids, qe_level.advisory_ids);
  const TcbLevel matched_level = *platform_level;
  DcapVerification out{.checked = std::move(checked),
                       .tcb_info = std::move(tcb_info),
                       .qe_identity = std::move(qe_identity),
                       .platform_level = matched_level,
                       .qe_level = std::move(qe_level),
                       .tdx_module = std::move(tdx_module),
                       .tcb_status = std::move(status),
                       .advisory_ids = std::move(advisory_ids),
                       .collateral_expiration = expiration};
  return out;
}

}  // namespace cloister::attestation::dcap

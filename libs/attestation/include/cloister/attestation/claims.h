#pragma once
// Claim names, header names and well-known claim values of Cloister attestation tokens — each
// declared once here (docs/tokens.md documents them) — and the base claims every evidence format
// produces, as Open Enclave's attestation plugins do.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cloister/crypto/bytes.h"

namespace cloister::attestation {

using crypto::Bytes;
using crypto::BytesView;

namespace claim {
// Registered JWT claims (RFC 7519).
inline constexpr std::string_view kIssuer = "iss";
inline constexpr std::string_view kIssuedAt = "iat";
inline constexpr std::string_view kNotBefore = "nbf";
inline constexpr std::string_view kExpiresAt = "exp";
inline constexpr std::string_view kJwtId = "jti";
inline constexpr std::string_view kAudience = "aud";
// Freshness: the nonce the verifier handed out and the attester bound into its runtime data.
inline constexpr std::string_view kNonce = "nonce";
// Base claims (every format).
inline constexpr std::string_view kTee = "tee";
inline constexpr std::string_view kMeasurement = "measurement";
inline constexpr std::string_view kSigner = "signer";
inline constexpr std::string_view kProductId = "product_id";
inline constexpr std::string_view kSvn = "svn";
inline constexpr std::string_view kDebuggable = "debuggable";
inline constexpr std::string_view kTcbStatus = "tcb_status";
inline constexpr std::string_view kAdvisoryIds = "advisory_ids";
inline constexpr std::string_view kReportData = "report_data";
// The runtime data document (JSON object) the report data binds.
inline constexpr std::string_view kRuntime = "runtime";
// SHA-256 hex of the appraisal policy the verifier applied.
inline constexpr std::string_view kPolicyHash = "policy_hash";
// The evidence format id ("sgx", "tdx", "snp", "sim").
inline constexpr std::string_view kFormat = "format";
// true exactly when the evidence came from the simulated TEE; always present.
inline constexpr std::string_view kSimulated = "x-cloister-simulated";
// Format-specific claims (a JSON object; its members depend on `format`).
inline constexpr std::string_view kFormatClaims = "x-cloister-format-claims";
}  // namespace claim

namespace header {
inline constexpr std::string_view kAlgorithm = "alg";
inline constexpr std::string_view kType = "typ";
inline constexpr std::string_view kKeyId = "kid";
inline constexpr std::string_view kJwkSetUrl = "jku";
}  // namespace header

// Values of the `tee` claim.
namespace tee {
inline constexpr std::string_view kSgx = "sgx";
inline constexpr std::string_view kTdx = "tdx";
inline constexpr std::string_view kSnp = "snp";
inline constexpr std::string_view kSim = "sim";
}  // namespace tee

// Values of the `tcb_status` claim (Intel's TCB statuses, which SNP verification maps onto, plus
// "Simulated", which only the sim format produces).
namespace tcb_status {
inline constexpr std::string_view kUpToDate = "UpToDate";
inline constexpr std::string_view kSwHardeningNeeded = "SWHardeningNeeded";
inline constexpr std::string_view kConfigurationNeeded = "ConfigurationNeeded";
inline constexpr std::string_view kConfigurationAndSwHardeningNeeded = "ConfigurationAndSWHardeningNeeded";
inline constexpr std::string_view kOutOfDate = "OutOfDate";
inline constexpr std::string_view kOutOfDateConfigurationNeeded = "OutOfDateConfigurationNeeded";
inline constexpr std::string_view kRevoked = "Revoked";
inline constexpr std::string_view kSimulated = "Simulated";
// Every value above, for validating policies.
bool is_known(std::string_view status);
}  // namespace tcb_status

// Size of the report data every TEE carries: SHA-256(runtime data) ‖ 32 zero bytes.
inline constexpr std::size_t kReportDataSize = 64;

// The claims every evidence format yields (Open Enclave's "base claims").
struct BaseClaims {
  std::string tee;                      // tee::k*
  std::string measurement;              // lower-case hex (MRENCLAVE, MRTD, SNP MEASUREMENT, sim SHA-384)
  std::optional<std::string> signer;    // lower-case hex (SGX MRSIGNER); absent for other formats
  std::uint32_t product_id = 0;         // SGX ISVPRODID; 0 where the format has none
  std::uint64_t svn = 0;                // security version number of the attested code
  bool debuggable = true;               // fail closed: a format must say it is not debuggable
  std::string tcb_status;               // tcb_status::k*
  std::vector<std::string> advisory_ids;  // e.g. INTEL-SA-00615
  Bytes report_data;                    // kReportDataSize bytes, exactly as in the evidence
};

// What an EvidenceVerifier returns: the base claims plus the format's own claims.
struct VerifiedEvidence {
  std::string format;            // the verifier's format_id()
  BaseClaims claims;
  nlohmann::json format_claims = nlohmann::json::object();
};

// The base claims as token claims (tee, measurement, signer when present, product_id, svn,
// debuggable, tcb_status, advisory_ids, report_data as lower-case hex, format, x-cloister-simulated,
// x-cloister-format-claims).
nlohmann::json to_claims_json(const VerifiedEvidence& evidence);

}  // namespace cloister::attestation

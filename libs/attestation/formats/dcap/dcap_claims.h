#pragma once
// The x-cloister-format-claims members the sgx and tdx formats share (docs/attestation-formats.md
// lists them, with the format-specific ones declared in formats/sgx and formats/tdx).

#include <nlohmann/json.hpp>
#include <string_view>

#include "formats/dcap/dcap_verifier.h"

namespace cloister::attestation::dcap {

namespace format_claim {
inline constexpr std::string_view kQuoteVersion = "quote_version";             // 3, 4 or 5
inline constexpr std::string_view kFmspc = "fmspc";                            // hex, PCK certificate
inline constexpr std::string_view kPceId = "pce_id";                           // hex, PCK certificate
inline constexpr std::string_view kPckCa = "pck_ca";                           // "platform" / "processor"
inline constexpr std::string_view kSgxType = "sgx_type";                       // 0, 1, 2 (when the PCK says)
inline constexpr std::string_view kPceSvn = "pce_svn";                         // PCK certificate PCESVN
inline constexpr std::string_view kCpuSvn = "cpu_svn";                         // hex, PCK certificate CPUSVN
inline constexpr std::string_view kPlatformTcbStatus = "platform_tcb_status";  // the matched TCB level's
inline constexpr std::string_view kTcbDate = "tcb_date";                       // the matched TCB level's
inline constexpr std::string_view kTcbEvaluationDataNumber = "tcb_evaluation_data_number";
inline constexpr std::string_view kQeTcbStatus = "qe_tcb_status";                   // the QE identity level's
inline constexpr std::string_view kQeSvn = "qe_svn";                                // QE ISVSVN
inline constexpr std::string_view kCollateralExpiration = "collateral_expiration";  // earliest nextUpdate/notAfter
}  // namespace format_claim

// The shared members, from a verification.
nlohmann::json common_format_claims(const DcapVerification& verification);

}  // namespace cloister::attestation::dcap

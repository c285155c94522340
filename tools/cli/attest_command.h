#pragma once
// `cloister attest …`: offline evidence verification and the attestation service's admin API.
//
//   cloister attest verify-evidence --format sgx|tdx|snp|sim --evidence FILE [--collateral FILE|DIR]...
//       [--at RFC3339-TIME] [--policy FILE] [--runtime-data FILE] [--nonce N] [--trust-sim-key PEM]...
//     Verifies evidence offline (no server) with the same verifiers as cloister-attest. Prints the
//     claims as JSON on standard output and exits 0; or prints the refusal (code, rule, reason) on
//     standard error and exits 1. Usage errors and unreadable files exit 2. Without --policy nothing
//     is refused on policy: the report (debug, TCB status, advisories) goes to standard error.
//     Without --runtime-data the runtime-data binding is not checked (and the report says so).
//
//   cloister attest policy get|versions|set --attest URL --format F [--ca PEM] [--admin-token-file FILE]
//       [--policy FILE] [--comment TEXT] [--base-version N]
//     The admin API (GET/PUT /admin/policies/{format}); the token comes from --admin-token-file or
//     CLOISTER_ADMIN_TOKEN, never from the command line.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cloister::cli {

struct VerifyEvidenceOptions {
  std::string format;
  std::string evidence_file;
  std::vector<std::string> collateral;  // files or directories
  std::string at;                       // RFC 3339; empty: now
  std::string policy_file;              // empty: report only
  std::string runtime_data_file;        // empty: binding not checked
  std::string nonce;                    // with runtime data: the nonce it must carry
  std::vector<std::string> sim_platform_keys;  // sim only: trusted platform public keys (PEM)
};
int run_verify_evidence(const VerifyEvidenceOptions& options);

struct PolicyCommandOptions {
  std::string action;  // get | versions | set
  std::string attest_url;
  std::string format;
  std::string ca_file;
  std::string admin_token_file;
  std::string policy_file;  // set
  std::string comment;      // set
  std::optional<std::uint64_t> base_version;
};
int run_attest_policy(const PolicyCommandOptions& options);

// "2025-07-01T12:00:00Z", "2025-07-01T14:00:00.5+02:00" → Unix seconds; nullopt when malformed.
std::optional<std::int64_t> parse_rfc3339(const std::string& text);

}  // namespace cloister::cli

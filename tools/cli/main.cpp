// cloister: the command-line tool — run the platform locally, request and verify tokens, verify
// evidence offline, administer the attestation service's policies and the key service's keys.
#include "attest_command.h"
#include "hospital_commands.h"
#ifdef CLOISTER_WITH_ENGINE
#include "engine_command.h"
#endif
#include "infer_command.h"
#include "keys_command.h"
#include "portal_server.h"
#include "token_command.h"
#include "up_command.h"

#include "cloister/core/error.h"

#include <CLI/CLI.hpp>

#include <filesystem>
#include <iostream>
#include <unistd.h>

using namespace cloister::cli;

namespace {

std::filesystem::path own_directory(const char* argv0) {
  std::error_code error;
  auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) self = std::filesystem::absolute(argv0);
  return self.parent_path();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"cloister — confidential computing for medical diagnosis"};
  app.require_subcommand(1);

  UpOptions up;
  up.bin_dir = own_directory(argv[0]);
  auto* up_command = app.add_subcommand("up", "Run the whole platform locally (sim TEE, development CA)");
  up_command->add_option("--state-dir", up.state_dir, "State directory (CA, keys, logs)")->capture_default_str();
  up_command->add_option("--bin-dir", up.bin_dir, "Directory holding the service binaries")->capture_default_str();
  up_command->add_option("--host", up.host, "Loopback address to bind")->capture_default_str();
  up_command->add_option("--models", up.models_dir, "Demo models sealed for the provider at start (default: the repository's models/)");
  up_command->add_option("--base-port", up.base_port, "First port (attest, keys, platform, infer, redis follow); 0: any free ports")
      ->capture_default_str();
  up_command->add_option("--ready-timeout", up.ready_timeout_seconds, "Seconds to wait for each service")
      ->capture_default_str();
  up_command->add_option("--token-lifetime", up.token_lifetime_seconds, "Attestation token lifetime in seconds")
      ->capture_default_str();
  up_command->add_option("--portal-dir", up.portal_dir, "The built hospital portal to serve (base port + 5)")
      ->capture_default_str();
  up_command->add_option("--portal-config", up.portal_config,
                         "Serve this hospital configuration to the portal instead of the one cloister up writes");
  up_command->add_flag("--exit-when-ready", up.exit_when_ready, "Start, check readiness, print, then stop (smoke test)");

  PortalServerOptions portal;
  portal.portal_dir = CLOISTER_PORTAL_DIR;
  auto* portal_command = app.add_subcommand("serve-portal", "Serve the hospital portal's static files over HTTPS (its container image)");
  portal_command->add_option("--dir", portal.portal_dir, "The built portal")->capture_default_str();
  portal_command->add_option("--config", portal.config_file, "The hospital configuration, served as /config.json")->required();
  portal_command->add_option("--host", portal.host, "Address to bind")->capture_default_str();
  portal_command->add_option("--port", portal.port, "Port to bind")->capture_default_str();
  portal_command->add_option("--cert", portal.certificate_file, "TLS certificate chain (PEM)");
  portal_command->add_option("--key", portal.key_file, "TLS private key (PEM)");
  portal_command->add_option("--issuer-cert", portal.ca_certificate, "Development: a CA that issues the certificate at start");
  portal_command->add_option("--issuer-key", portal.ca_key, "Development: that CA's key");

  auto* token = app.add_subcommand("token", "Attestation tokens");
  token->require_subcommand(1);
  TokenVerifyOptions verify;
  auto* verify_command = token->add_subcommand("verify", "Verify a token through the issuer's OIDC discovery and JWKS");
  verify_command->add_option("token", verify.token, "The token, or - for standard input")->required();
  verify_command->add_option("--issuer", verify.issuer, "The attestation service URL (the pinned issuer)")->required();
  verify_command->add_option("--ca", verify.ca_file, "CA bundle for the attestation service's certificate");
  verify_command->add_flag("--allow-simulated", verify.allow_simulated, "Accept tokens of the sim TEE");
  verify_command->add_flag("--allow-debug", verify.allow_debug, "Accept debuggable TEEs");

  TokenRequestOptions request;
  auto* request_command = token->add_subcommand("request", "Attest this process in the sim TEE and print a token");
  request_command->add_option("--attest", request.attest_url, "The attestation service URL")->required();
  request_command->add_option("--ca", request.ca_file, "CA bundle for the attestation service's certificate");
  request_command->add_option("--sim-platform-key", request.sim_platform_key, "The simulated-platform key (PEM)")
      ->required();
  request_command->add_flag("--nonce", request.with_nonce, "Bind a fresh one-time nonce from the service");

  auto* attest = app.add_subcommand("attest", "Evidence and the attestation service");
  attest->require_subcommand(1);
  VerifyEvidenceOptions evidence;
  auto* evidence_command = attest->add_subcommand(
      "verify-evidence", "Verify evidence offline; print the claims as JSON (exit 0) or the refusal (exit 1)");
  evidence_command->add_option("--format", evidence.format, "Evidence format: sgx, tdx, snp (sim for development)")
      ->required();
  evidence_command->add_option("--evidence", evidence.evidence_file, "Evidence file: binary, hex text or JSON")
      ->required();
  evidence_command->add_option("--collateral", evidence.collateral,
                               "Collateral file or directory (repeatable): certificates, CRLs, TCB info, bundles");
  evidence_command->add_option("--at", evidence.at, "Verify as of this RFC 3339 time (default: now)");
  evidence_command->add_option("--policy", evidence.policy_file,
                               "Policy document (bare, per-format map or admin version); without it nothing is refused on policy");
  evidence_command->add_option("--runtime-data", evidence.runtime_data_file,
                               "The runtime-data bytes the report data must bind (else the binding is not checked)");
  evidence_command->add_option("--nonce", evidence.nonce, "With --runtime-data: the nonce it must carry");
  evidence_command->add_option("--trust-sim-key", evidence.sim_platform_keys,
                               "sim only: a trusted simulated-platform public key (PEM; repeatable)");

  PolicyCommandOptions policy;
  auto* policy_command = attest->add_subcommand("policy", "Read or change a format's policy (admin API)");
  policy_command->add_option("action", policy.action, "get, versions or set")
      ->required()
      ->check(CLI::IsMember({"get", "versions", "set"}));
  policy_command->add_option("--attest", policy.attest_url, "The attestation service URL")->required();
  policy_command->add_option("--format", policy.format, "Evidence format")->required();
  policy_command->add_option("--ca", policy.ca_file, "CA bundle for the attestation service's certificate");
  policy_command->add_option("--admin-token-file", policy.admin_token_file,
                             "File holding the admin token (else CLOISTER_ADMIN_TOKEN)");
  policy_command->add_option("--policy", policy.policy_file, "set: the policy document");
  policy_command->add_option("--comment", policy.comment, "set: why (recorded with the version)");
  policy_command->add_option("--base-version", policy.base_version,
                             "set: refuse unless this is the version in force (optimistic concurrency)");

  auto hospital_commands = add_hospital_commands(app);
  auto keys_commands = add_keys_commands(app);
  auto infer_commands = add_infer_commands(app);
#ifdef CLOISTER_WITH_ENGINE
  auto engine_commands = add_engine_commands(app);
#endif

  auto* errors_command = app.add_subcommand("errors", "Print the table of stable error codes (Markdown)");

  CLI11_PARSE(app, argc, argv);
  if (errors_command->parsed()) {
    std::cout << "| code | HTTP status | meaning |\n|---|---|---|\n";
    for (const auto& info : cloister::all_error_codes()) {
      std::cout << "| `" << info.name << "` | " << info.http_status << " | " << info.description << " |\n";
    }
    return 0;
  }
  if (up_command->parsed()) return run_up(up);
  if (portal_command->parsed()) return run_serve_portal(portal);
  if (verify_command->parsed()) return run_token_verify(verify);
  if (request_command->parsed()) return run_token_request(request);
  if (evidence_command->parsed()) return run_verify_evidence(evidence);
  if (policy_command->parsed()) return run_attest_policy(policy);
  if (int status = run_hospital_command(hospital_commands); status >= 0) return status;
  if (int status = run_keys_command(keys_commands); status >= 0) return status;
  if (int status = run_infer_command(infer_commands); status >= 0) return status;
#ifdef CLOISTER_WITH_ENGINE
  if (int status = run_engine_command(engine_commands); status >= 0) return status;
#endif
  return 2;
}

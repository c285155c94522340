#include "attest_command.h"

#include "admin_client.h"

#include "appraisal.h"

#include "cloister/attestation/format_registry.h"
#include "cloister/attestation/runtime_data.h"
#include "cloister/core/clock.h"
#include "cloister/crypto/keys.h"
#include "cloister/http/client.h"
#include "cloister/service/tls_identity.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

namespace cloister::cli {

namespace {

constexpr std::size_t kMaxEvidenceFileSize = 16 * 1024 * 1024;
constexpr int kExitRefused = 1;
constexpr int kExitUsage = 2;

int usage_error(const std::string& message) {
  std::cerr << "error: " << message << "\n";
  return kExitUsage;
}

Result<std::string> read_bounded(const std::string& path, std::size_t max_size) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorCode::io_error, "cannot read " + path);
  std::string content;
  char buffer[65536];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    content.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (content.size() > max_size) return fail(ErrorCode::io_error, path + " is too large");
  }
  return content;
}

// The refusal: machine-readable on standard output, readable on standard error.
int refuse(const Error& error, std::string_view rule) {
  std::cout << nlohmann::json{{"refused", {{"code", error.name()}, {"rule", rule}, {"detail", error.detail}}}}.dump(2)
            << "\n";
  std::cerr << "refused: " << error.name() << " (rule " << rule << ")" << (error.detail.empty() ? "" : ": ")
            << error.detail << "\n";
  return kExitRefused;
}

std::string rfc3339(std::int64_t unix_seconds) {
  const std::chrono::sys_seconds time{std::chrono::seconds(unix_seconds)};
  const auto days = std::chrono::floor<std::chrono::days>(time);
  const std::chrono::year_month_day date{days};
  const std::chrono::hh_mm_ss clock{time - days};
  char text[32];
  std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02ld:%02ld:%02ldZ", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                static_cast<long>(clock.hours().count()), static_cast<long>(clock.minutes().count()),
                static_cast<long>(clock.seconds().count()));
  return text;
}

}  // namespace

std::optional<std::int64_t> parse_rfc3339(const std::string& text) {
  // YYYY-MM-DD[Tt ]HH:MM:SS[.fraction](Z|z|±HH:MM)
  auto digits = [&](std::size_t at, std::size_t count) -> std::optional<int> {
    if (at + count > text.size()) return std::nullopt;
    int value = 0;
    for (std::size_t i = at; i < at + count; ++i) {
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
      value = value * 10 + (text[i] - '0');
    }
    return value;
  };
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != 't' && text[10] != ' ') ||
      text[13] != ':' || text[16] != ':') {
    return std::nullopt;
  }
  auto year = digits(0, 4), month = digits(5, 2), day = digits(8, 2);
  auto hour = digits(11, 2), minute = digits(14, 2), second = digits(17, 2);
  if (!year || !month || !day || !hour || !minute || !second) return std::nullopt;
  std::size_t at = 19;
  if (at < text.size() && text[at] == '.') {
    ++at;
    const std::size_t start = at;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') ++at;
    if (at == start) return std::nullopt;
  }
  std::int64_t offset = 0;
  if (at < text.size() && (text[at] == 'Z' || text[at] == 'z') && at + 1 == text.size()) {
    offset = 0;
  } else if (at + 6 == text.size() && (text[at] == '+' || text[at] == '-') && text[at + 3] == ':') {
    auto offset_hours = digits(at + 1, 2), offset_minutes = digits(at + 4, 2);
    if (!offset_hours || !offset_minutes || *offset_hours > 23 || *offset_minutes > 59) return std::nullopt;
    offset = (*offset_hours * 3600 + *offset_minutes * 60) * (text[at] == '+' ? 1 : -1);
  } else {
    return std::nullopt;
  }
  const std::chrono::year_month_day date{std::chrono::year(*year), std::chrono::month(static_cast<unsigned>(*month)),
                                         std::chrono::day(static_cast<unsigned>(*day))};
  if (!date.ok() || *hour > 23 || *minute > 59 || *second > 60) return std::nullopt;
  const auto days = std::chrono::sys_days(date).time_since_epoch().count();
  return static_cast<std::int64_t>(days) * 86400 + *hour * 3600 + *minute * 60 + std::min(*second, 59) - offset;
}

int run_verify_evidence(const VerifyEvidenceOptions& options) {
  // The instant everything (certificates, CRLs, TCB info, QE identity) is judged at.
  std::optional<ManualClock> fixed_clock;
  if (!options.at.empty()) {
    auto at = parse_rfc3339(options.at);
    if (!at) return usage_error("--at must be an RFC 3339 time, e.g. 2025-07-01T00:00:00Z");
    fixed_clock.emplace(Clock::time_point(std::chrono::seconds(*at)));
  }
  const Clock& clock = fixed_clock ? static_cast<const Clock&>(*fixed_clock) : SystemClock::instance();

  attestation::FormatConfig config;
  for (const auto& path : options.sim_platform_keys) {
    auto pem = service::read_text_file(path);
    if (!pem) return usage_error(pem.error().to_string());
    auto key = crypto::PublicKey::from_pem(*pem);
    if (!key) return usage_error(path + ": " + key.error().to_string());
    config.sim_platform_keys.push_back(std::move(*key));
  }
  auto verifiers = attestation::make_evidence_verifiers(config);
  auto verifier = attestation::find(verifiers, options.format);
  if (!verifier) {
    std::string known;
    for (const auto& each : verifiers) known += (known.empty() ? "" : ", ") + std::string(each->format_id());
    return usage_error(verifier.error().to_string() + " (this build verifies: " + known + ")");
  }

  auto evidence_text = read_bounded(options.evidence_file, kMaxEvidenceFileSize);
  if (!evidence_text) return usage_error(evidence_text.error().to_string());
  auto evidence_bytes = attest::decode_evidence_file(*evidence_text);
  if (!evidence_bytes) return usage_error(options.evidence_file + ": " + evidence_bytes.error().to_string());

  std::optional<nlohmann::json> policy_document;
  if (!options.policy_file.empty()) {
    auto text = read_bounded(options.policy_file, 1024 * 1024);
    if (!text) return usage_error(text.error().to_string());
    policy_document = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  }

  attestation::Collateral collateral;
  if (!options.collateral.empty()) {
    std::vector<std::filesystem::path> paths(options.collateral.begin(), options.collateral.end());
    auto loaded = attestation::load_collateral_files(options.format, paths);
    if (!loaded) return refuse(loaded.error(), attest::rule_for_error(loaded.error().code));
    collateral = std::move(*loaded);
  }

  attestation::Evidence evidence{options.format, std::move(*evidence_bytes), {}, std::nullopt};
  if (!options.nonce.empty()) evidence.nonce = options.nonce;
  const bool bound = !options.runtime_data_file.empty();
  if (bound) {
    auto runtime = read_bounded(options.runtime_data_file, attestation::runtime_data::kMaxSize);
    if (!runtime) return usage_error(runtime.error().to_string());
    evidence.runtime_data = crypto::to_bytes(*runtime);
  } else if (evidence.nonce) {
    return usage_error("--nonce needs --runtime-data (the nonce is checked in the runtime data)");
  }

  attestation::VerificationContext context{clock};
  auto verified = bound ? (*verifier)->verify(evidence, collateral, context)
                        : attest::verify_unbound(**verifier, evidence, collateral, context);
  if (!verified) return refuse(verified.error(), attest::rule_for_error(verified.error().code));
  nlohmann::json runtime;
  if (bound) runtime = attestation::parse_runtime_data(evidence.runtime_data).value().document;
  const auto claims = attest::appraisal_claims(*verified, bound ? &runtime : nullptr, evidence.nonce);

  // The report: what a relying party would look at first.
  std::cerr << "verified " << options.format << " evidence at " << rfc3339(clock.unix_seconds()) << "\n"
            << "  tee: " << verified->claims.tee << "   tcb_status: " << verified->claims.tcb_status
            << "   debuggable: " << (verified->claims.debuggable ? "yes" : "no") << "\n"
            << "  advisory_ids: " << nlohmann::json(verified->claims.advisory_ids).dump() << "\n"
            << "  runtime-data binding: "
            << (bound ? "checked" : "not checked (no --runtime-data: these claims alone could never get a token)")
            << "\n";
  if (verified->claims.tee == "sim") std::cerr << "  SIMULATED TEE: proves nothing about hardware\n";

  if (policy_document) {
    auto policy = attest::policy_for_format(*policy_document, options.format);
    if (!policy) return usage_error(options.policy_file + ": " + policy.error().to_string());
    std::cerr << "policy " << policy->hash() << ":\n";
    for (const auto& outcome : policy->evaluate(claims)) {
      std::cerr << "  " << (outcome.passed() ? "pass " : "FAIL ") << outcome.rule;
      if (outcome.failure) std::cerr << ": " << outcome.failure->name() << " — " << outcome.failure->detail;
      std::cerr << "\n";
    }
    if (auto failure = policy->first_failure(claims)) return refuse(*failure->failure, failure->rule);
  } else {
    std::cerr << "no --policy: nothing refused on policy\n";
  }
  std::cout << claims.dump(2) << "\n";
  return 0;
}

int run_attest_policy(const PolicyCommandOptions& options) {
  auto admin = make_admin_client(options.attest_url, options.ca_file, options.admin_token_file);
  if (!admin) return usage_error(admin.error().detail);
  auto& client = admin->client;
  const std::string url = admin->base_url + "/admin/policies/" + options.format;
  http::HeaderList headers = admin->headers;

  Result<http::Response> response = fail(ErrorCode::invalid_argument, "unknown action");
  if (options.action == "get") {
    response = client.get(url, headers);
  } else if (options.action == "versions") {
    response = client.get(url + "/versions", headers);
  } else if (options.action == "set") {
    if (options.policy_file.empty()) return usage_error("set needs --policy FILE");
    auto text = service::read_text_file(options.policy_file);
    if (!text) return usage_error(text.error().to_string());
    auto document = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
    auto policy = attest::policy_for_format(document, options.format);
    if (!policy) return usage_error(options.policy_file + ": " + policy.error().to_string());
    nlohmann::json body = {{"policy", policy->to_json()}, {"comment", options.comment}};
    if (options.base_version) body["base_version"] = *options.base_version;
    headers.emplace_back("Content-Type", "application/json");
    response = client.request("PUT", url, headers, body.dump());
  } else {
    return usage_error("action must be get, versions or set");
  }
  if (!response) {
    std::cerr << "error: " << response.error().to_string() << "\n";
    return kExitRefused;
  }
  auto body = nlohmann::json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (response->status / 100 != 2) {
    std::cerr << "error: HTTP " << response->status << " "
              << (body.is_object() ? body.value("code", std::string()) + ": " + body.value("detail", std::string()) : "")
              << "\n";
    return kExitRefused;
  }
  std::cout << (body.is_discarded() ? response->body : body.dump(2)) << "\n";
  return 0;
}

}  // namespace cloister::cli

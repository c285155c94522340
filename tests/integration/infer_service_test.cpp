// cloister-infer as a real process next to real cloister-attest and cloister-keys (loopback, port
// 0, real TLS, the sim TEE). The test process plays the medical platform: an attested caller with its
// own TLS and HPKE keys and a token from cloister-attest.
//   - the provider's model key lives in cloister-keys (hpke-x25519) with a release policy naming
//     cloister-infer's measurement; the demo models are sealed to it with `cloister infer seal-model`
//     and only the provider's TEE can open them (the test process itself is refused the key);
//   - the attested platform gets a diagnosis for real DICOM files (pydicom's CT_small.dcm), over a
//     sealed body, with a receipt signed by the provider's attested key; the OIP v2 infer route gives
//     PyTorch's reference output on the demo model's reference input;
//   - an unattested caller, a caller whose measurement the provider's policy does not allow, a stolen
//     token on another client certificate, a tampered sealed body, an unsealed body and an oversized
//     body are each refused with their own code;
//   - `cloister infer models list|show|unload|load` administer the registry;
//   - afterwards the provider's disk and logs hold no pixel data and no patient identifier.
#include "harness.h"

#include "infer_service.h"
#include "receipt.h"

#include "cloister/core/private_files.h"
#include "cloister/crypto/base64.h"
#include "cloister/crypto/jwk.h"
#include "cloister/engine/npy.h"
#include "cloister/service/sealed_http.h"

#include <gtest/gtest.h>

#include <cmath>
#include <thread>

namespace cloister::testing {
namespace {

namespace fs = std::filesystem;

const std::string kBin = CLOISTER_BIN_DIR;
const fs::path kSource = CLOISTER_SOURCE_DIR;
const fs::path kModels = kSource / "models";
const fs::path kDicom = "/usr/lib/python3/dist-packages/pydicom/data/test_files";
constexpr const char* kModelKey = "provider-models";
constexpr const char* kClassifier = "demo-chest-classifier";
constexpr const char* kSegmenter = "demo-lung-segmenter";

std::string slurp(const fs::path& path) { return cloister::read_file(path, std::size_t{1} << 30).value(); }

class Provider {
 public:
  ServiceSet set{"cloister-infer-it"};
  std::string attest_url, keys_url, infer_url;
  std::string error;

  Provider() { setup(); }

  void setup() {
    if (!set.error().empty()) return fail_with(set.error());
    for (const auto* model : {kClassifier, kSegmenter}) {
      if (!fs::exists(kModels / model / "model.onnx")) return fail_with(std::string("models/") + model + " is absent");
    }
    if (!fs::exists(kDicom / "CT_small.dcm")) return fail_with("python3-pydicom's test files are absent");
    attest_url = set.start_attest();
    if (attest_url.empty()) return fail_with(set.error());
    keys_url = set.start("keys", set.sim_tee_settings(attest_url));
    if (keys_url.empty() || !set.wait_ready(keys_url)) return fail_with(set.error());

    // The model owner's side: a key whose private half only cloister-infer's TEE gets, and the demo
    // models sealed to its public half.
    const nlohmann::json policy = {{"name", "provider"}, {"allow_simulated", true},
                                   {"all_of", {{{"claim", "tee"}, {"equals", "sim"}},
                                               {{"claim", "measurement"}, {"equals", sim_measurement(kBin + "/cloister-infer")}}}}};
    const auto policy_file = set.dir() / "model-key-policy.json";
    if (!write_private_file(policy_file, policy.dump())) return fail_with("cannot write the policy");
    auto created = keys_cli({"create", kModelKey, "--type", "hpke-x25519", "--policy", policy_file.string()});
    if (created.status != 0) return fail_with("cloister keys create: " + created.output);
    for (const auto* model : {kClassifier, kSegmenter}) {
      auto sealed = run_command({kBin + "/cloister", "infer", "seal-model", "--model", (kModels / model / "model.onnx").string(),
                                 "--manifest", (kModels / model / "manifest.json").string(), "--registry", registry().string(),
                                 "--key", kModelKey, "--keys", keys_url, "--ca", set.ca_file().string(),
                                 "--admin-token-file", (set.state("keys") / "admin-token").string()},
                                std::chrono::seconds(60));
      if (sealed.status != 0) return fail_with("cloister infer seal-model: " + sealed.output);
    }

    // The provider: callers must be in the sim TEE and run this test binary (the "platform").
    auto settings = set.sim_tee_settings(attest_url);
    settings.insert(settings.end(), {"--set", "keys.url=" + keys_url, "--set", "registry.dir=" + registry().string(),
                                     "--set", "policy.allow_simulated=true", "--set", R"(policy.tee_types=["sim"])",
                                     "--set", "policy.measurements=[\"" + sim_measurement("/proc/self/exe") + "\"]",
                                     "--set", "server.max_body_bytes=4194304", "--set", "engine.threads=1"});
    infer_url = set.start("infer", settings);
    if (infer_url.empty() || !set.wait_ready(infer_url)) return fail_with(set.error());
    // Models load once the provider holds its token and cloister-keys released their key.
    auto client = set.client(nullptr, std::chrono::milliseconds(2000));
    for (int attempt = 0; attempt < 1200; ++attempt) {
      auto a = client.get(infer_url + "/v2/models/" + kClassifier + "/ready");
      auto b = client.get(infer_url + "/v2/models/" + kSegmenter + "/ready");
      if (a && a->status == 200 && b && b->status == 200) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    fail_with("the models were not loaded within 120 s: " + read_file(set.log("infer")));
  }

  fs::path registry() const { return set.dir() / "registry"; }
  fs::path infer_admin_token() const { return set.state("infer") / "admin-token"; }

  CommandResult keys_cli(std::vector<std::string> arguments) const {
    arguments.insert(arguments.begin(), {kBin + "/cloister", "keys"});
    arguments.insert(arguments.end(), {"--keys", keys_url, "--ca", set.ca_file().string(), "--admin-token-file",
                                       (set.state("keys") / "admin-token").string()});
    return run_command(arguments, std::chrono::seconds(60));
  }
  CommandResult models_cli(std::vector<std::string> arguments) const {
    arguments.insert(arguments.begin(), {kBin + "/cloister", "infer", "models"});
    arguments.insert(arguments.end(), {"--infer", infer_url, "--ca", set.ca_file().string(), "--admin-token-file",
                                       infer_admin_token().string()});
    return run_command(arguments, std::chrono::seconds(120));
  }

  // The provider's attestation document, and from its token the attested TLS and HPKE keys.
  struct Attested {
    std::string token;
    crypto::PublicKey tls_key;
    crypto::Bytes hpke_public_key;
  };
  Attested attested() const {
    auto response = set.client().get(infer_url + "/attestation");
    EXPECT_TRUE(response && response->status == 200);
    auto document = nlohmann::json::parse(response->body);
    Attested out{document["token"].get<std::string>(), crypto::PrivateKey::generate(crypto::KeyType::ec_p256).public_key(), {}};
    auto claims = token_payload(out.token);
    EXPECT_EQ(claims["tee"], "sim");
    EXPECT_EQ(claims["measurement"], sim_measurement(kBin + "/cloister-infer"));
    for (const auto& jwk : claims["runtime"]["keys"]) {
      if (jwk["kid"] == "tls") out.tls_key = crypto::jwk_to_public_key(jwk).value();
      if (jwk["kid"] == "hpke") out.hpke_public_key = crypto::base64url_decode(jwk["x"].get<std::string>()).value();
    }
    EXPECT_EQ(out.hpke_public_key.size(), 32u);
    return out;
  }

 private:
  void fail_with(const std::string& message) {
    error = message;
    infer_url.clear();
  }
};

Provider* g_provider = nullptr;

class ProviderEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    provider_ = std::make_unique<Provider>();
    ASSERT_FALSE(provider_->infer_url.empty()) << provider_->error;
    g_provider = provider_.get();
  }
  void TearDown() override {
    g_provider = nullptr;
    provider_.reset();
  }

 private:
  std::unique_ptr<Provider> provider_;
};

const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new ProviderEnvironment);

// A sealed call as the attested platform.
Result<service::InnerMessage> call(const AttestedCaller& caller, const std::string& path, const service::InnerMessage& inner,
                                   const crypto::PrivateKey* certificate_key = nullptr) {
  const auto provider = g_provider->attested();
  auto client = g_provider->set.client(certificate_key != nullptr ? certificate_key : &caller.tls_key);
  return service::call_sealed(client, g_provider->infer_url + path, {{"Authorization", "Attestation " + caller.token}},
                              provider.hpke_public_key, inner);
}

service::InnerMessage dicom(const std::string& bytes) {
  service::InnerMessage inner;
  inner.content_type = "application/dicom";
  inner.body = bytes;
  return inner;
}

TEST(InferService, TheAttestedPlatformGetsADiagnosisWithAReceipt) {
  ASSERT_NE(g_provider, nullptr);
  auto caller = make_attested_caller(g_provider->set, g_provider->attest_url);
  ASSERT_TRUE(caller.error.empty()) << caller.error;
  const auto request = dicom(slurp(kDicom / "CT_small.dcm"));
  auto answer = call(caller, std::string("/v1/models/") + kClassifier + "/diagnose", request);
  ASSERT_TRUE(answer) << answer.error().to_string();
  ASSERT_EQ(answer->status, 200) << answer->body;
  auto result = nlohmann::json::parse(answer->body);
  EXPECT_EQ(result["input"]["modality"], "CT");
  EXPECT_EQ(result["findings"].size(), 3u);
  EXPECT_EQ(result["model"]["name"], kClassifier);

  // The receipt: signed by the provider's attested TLS key, over these exact bodies, this caller.
  auto receipt = answer->header(infer::kReceiptHeader);
  ASSERT_TRUE(receipt);
  const auto provider = g_provider->attested();
  const auto request_bytes = crypto::to_bytes(request.body);
  const auto response_bytes = crypto::to_bytes(answer->body);
  // The answer carries the provider token the receipt names: the one /attestation serves now.
  auto provider_token = answer->header(infer::kProviderTokenHeader);
  ASSERT_TRUE(provider_token);
  EXPECT_EQ(*provider_token, provider.token);
  auto payload = infer::verify_receipt(*receipt, provider.tls_key, std::string(*provider_token), &request_bytes,
                                       &response_bytes);
  ASSERT_TRUE(payload) << payload.error().to_string();
  EXPECT_EQ((*payload)["caller_jti"], token_payload(caller.token)["jti"]);
  EXPECT_EQ((*payload)["model"]["sha256"], result["model"]["sha256"]);
  const auto other = crypto::to_bytes(request.body + " ");
  EXPECT_FALSE(infer::verify_receipt(*receipt, provider.tls_key, provider.token, &other, &response_bytes));

  // A PNG, and the segmenter with its mask.
  service::InnerMessage png;
  png.content_type = "image/png";
  png.body = slurp(kModels / "samples" / "nodule.png");
  auto classified = call(caller, std::string("/v1/models/") + kClassifier + "/diagnose", png);
  ASSERT_TRUE(classified && classified->status == 200) << (classified ? classified->body : classified.error().to_string());
  EXPECT_EQ(nlohmann::json::parse(classified->body)["findings"][0]["label"], "nodule");
  auto segmented = call(caller, std::string("/v1/models/") + kSegmenter + "/diagnose", request);
  ASSERT_TRUE(segmented && segmented->status == 200) << (segmented ? segmented->body : segmented.error().to_string());
  EXPECT_EQ(nlohmann::json::parse(segmented->body)["segmentation"]["mask"]["encoding"], "png");

  // Bad images are refused inside the seal, each with its own code.
  auto inner_code = [&](const service::InnerMessage& inner) {
    auto bad = call(caller, std::string("/v1/models/") + kClassifier + "/diagnose", inner);
    if (!bad) return std::string("transport: ") + bad.error().to_string();
    return nlohmann::json::parse(bad->body, nullptr, false).value("code", "accepted");
  };
  EXPECT_EQ(inner_code(dicom(request.body.substr(0, request.body.size() / 3))), "image_decode_failed");
  EXPECT_EQ(inner_code(dicom(slurp(kDicom / "JPEG2000.dcm"))), "image_unsupported_encoding");
  EXPECT_EQ(inner_code(dicom(slurp(kDicom / "rtplan.dcm"))), "image_no_pixel_data");
  auto missing = call(caller, "/v1/models/no-such-model/diagnose", request);
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST(InferService, OipInferMatchesPyTorchWithJsonAndBinaryTensors) {
  ASSERT_NE(g_provider, nullptr);
  auto caller = make_attested_caller(g_provider->set, g_provider->attest_url);
  ASSERT_TRUE(caller.error.empty()) << caller.error;
  auto input = engine::read_npy_file(kModels / kClassifier / "reference_input.npy");
  auto expected = engine::read_npy_file(kModels / kClassifier / "reference_output.npy");
  ASSERT_TRUE(input && expected);
  const auto values = input->values<float>();
  service::InnerMessage json;
  json.content_type = "application/json";
  json.body = nlohmann::json{{"id", "r-1"},
                             {"inputs", {{{"name", "image"}, {"datatype", "FP32"}, {"shape", input->shape()},
                                          {"data", std::vector<float>(values.begin(), values.end())}}}}}
                  .dump();
  auto answer = call(caller, std::string("/v2/models/") + kClassifier + "/infer", json);
  ASSERT_TRUE(answer) << answer.error().to_string();
  ASSERT_EQ(answer->status, 200) << answer->body;
  auto body = nlohmann::json::parse(answer->body);
  EXPECT_EQ(body["id"], "r-1");
  EXPECT_EQ(body["model_name"], kClassifier);
  const auto got = body["outputs"][0]["data"].get<std::vector<float>>();
  const auto want = expected->values<float>();
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-3 * (1 + std::fabs(want[i])));
  EXPECT_TRUE(answer->header(infer::kReceiptHeader));

  // The binary tensor extension: the same numbers, raw.
  const std::string header = nlohmann::json{{"inputs", {{{"name", "image"}, {"datatype", "FP32"}, {"shape", input->shape()},
                                                          {"parameters", {{"binary_data_size", input->byte_size()}}}}}},
                                            {"outputs", {{{"name", "logits"}, {"parameters", {{"binary_data", true}}}}}}}
                                 .dump();
  service::InnerMessage binary;
  binary.content_type = "application/octet-stream";
  binary.headers["Inference-Header-Content-Length"] = std::to_string(header.size());
  binary.body = header + std::string(reinterpret_cast<const char*>(input->bytes()), input->byte_size());
  auto raw = call(caller, std::string("/v2/models/") + kClassifier + "/infer", binary);
  ASSERT_TRUE(raw && raw->status == 200) << (raw ? raw->body : raw.error().to_string());
  auto length = raw->header("Inference-Header-Content-Length");
  ASSERT_TRUE(length);
  const auto json_length = std::stoul(std::string(*length));
  ASSERT_EQ(raw->body.size(), json_length + want.size() * sizeof(float));
  for (std::size_t i = 0; i < want.size(); ++i) {
    float value = 0;
    std::memcpy(&value, raw->body.data() + json_length + i * sizeof(float), sizeof value);
    EXPECT_NEAR(value, want[i], 1e-3 * (1 + std::fabs(want[i])));
  }

  // Metadata for attested callers.
  auto metadata = g_provider->set.client(&caller.tls_key)
                      .get(g_provider->infer_url + "/v2/models/" + kClassifier,
                           {{"Authorization", "Attestation " + caller.token}});
  ASSERT_TRUE(metadata && metadata->status == 200);
  EXPECT_EQ(nlohmann::json::parse(metadata->body)["inputs"][0]["name"], "image");
}

TEST(InferService, RefusesEachUntrustedCallWithItsOwnCode) {
  ASSERT_NE(g_provider, nullptr);
  auto caller = make_attested_caller(g_provider->set, g_provider->attest_url);
  ASSERT_TRUE(caller.error.empty()) << caller.error;
  const auto provider = g_provider->attested();
  const std::string url = g_provider->infer_url + "/v1/models/" + kClassifier + "/diagnose";
  const auto sealed_body = [&](const std::string& payload) {
    auto sealed = crypto::sealed::seal_request(provider.hpke_public_key, service::kAttestedHpkeKeyId,
                                               service::encode_inner_request(dicom(payload)));
    return crypto::to_string(sealed.value().message);
  };
  const http::HeaderList sealed_type = {{"Content-Type", std::string(service::kSealedRequestType)}};
  auto post = [&](const crypto::PrivateKey* key, const std::string& token, const std::string& body,
                  http::HeaderList headers) {
    if (!token.empty()) headers.emplace_back("Authorization", "Attestation " + token);
    return g_provider->set.client(key).request("POST", url, headers, body);
  };
  const auto ct = slurp(kDicom / "CT_small.dcm");

  // Unattested: no token.
  auto unattested = post(&caller.tls_key, "", sealed_body(ct), sealed_type);
  EXPECT_EQ(unattested->status, 401);
  EXPECT_EQ(code_of(unattested), "attestation_required");
  // Attested, but running code the provider's policy does not allow.
  auto stranger = make_attested_caller(g_provider->set, g_provider->attest_url, "/bin/true");
  ASSERT_TRUE(stranger.error.empty()) << stranger.error;
  auto unallowed = post(&stranger.tls_key, stranger.token, sealed_body(ct), sealed_type);
  EXPECT_EQ(unallowed->status, 403);
  EXPECT_EQ(code_of(unallowed), "policy_measurement_not_allowed");
  // A stolen token presented over another client certificate.
  auto thief = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  auto stolen = post(&thief, caller.token, sealed_body(ct), sealed_type);
  EXPECT_EQ(stolen->status, 401);
  EXPECT_EQ(code_of(stolen), "channel_binding_mismatch");
  // A tampered sealed body.
  auto tampered_body = sealed_body(ct);
  tampered_body[tampered_body.size() / 2] ^= 0x40;
  auto tampered = post(&caller.tls_key, caller.token, tampered_body, sealed_type);
  EXPECT_EQ(tampered->status, 400);
  EXPECT_EQ(code_of(tampered), "hpke_open_failed");
  // A body in the clear.
  auto clear = post(&caller.tls_key, caller.token, ct, {{"Content-Type", "application/dicom"}});
  EXPECT_EQ(clear->status, 415);
  EXPECT_EQ(code_of(clear), "unsupported_media_type");
  // An oversized body (server.max_body_bytes = 4 MiB here).
  auto oversized = post(&caller.tls_key, caller.token, std::string(5 * 1024 * 1024, 'x'), sealed_type);
  ASSERT_TRUE(oversized) << oversized.error().to_string();
  EXPECT_EQ(oversized->status, 413);
  EXPECT_EQ(code_of(oversized), "payload_too_large");
  // A deadline header out of range.
  auto deadline = post(&caller.tls_key, caller.token, sealed_body(ct), {sealed_type[0], {"Cloister-Timeout-Ms", "0"}});
  ASSERT_TRUE(deadline);
  EXPECT_EQ(deadline->status, 200) << "refused inside the seal";

  // The model key is the provider's alone: the test process (an attested TEE too, but not
  // cloister-infer) is refused it.
  auto key = g_provider->set.client(&caller.tls_key)
                 .request("POST", g_provider->keys_url + "/keys/" + kModelKey + "/release",
                          {{"Authorization", "Attestation " + caller.token}});
  ASSERT_TRUE(key);
  EXPECT_EQ(key->status, 403);
  EXPECT_EQ(code_of(key), "key_release_denied");
}

TEST(InferService, TheCliAdministersTheRegistry) {
  ASSERT_NE(g_provider, nullptr);
  auto list = g_provider->models_cli({"list"});
  ASSERT_EQ(list.status, 0) << list.output;
  auto models = nlohmann::json::parse(list.output)["models"];
  ASSERT_EQ(models.size(), 2u);
  for (const auto& model : models) EXPECT_EQ(model["state"], "loaded") << model;
  auto show = g_provider->models_cli({"show", kClassifier});
  ASSERT_EQ(show.status, 0) << show.output;
  EXPECT_NE(nlohmann::json::parse(show.output)["model_card"].get<std::string>().find("not for clinical use"),
            std::string::npos);

  auto caller = make_attested_caller(g_provider->set, g_provider->attest_url);
  ASSERT_TRUE(caller.error.empty()) << caller.error;
  ASSERT_EQ(g_provider->models_cli({"unload", kSegmenter}).status, 0);
  auto unloaded = call(caller, std::string("/v1/models/") + kSegmenter + "/diagnose", dicom(slurp(kDicom / "CT_small.dcm")));
  ASSERT_TRUE(unloaded);
  EXPECT_EQ(unloaded->status, 503);
  EXPECT_EQ(nlohmann::json::parse(unloaded->body)["code"], "model_unavailable");
  auto loaded = g_provider->models_cli({"load", kSegmenter});
  ASSERT_EQ(loaded.status, 0) << loaded.output;
  EXPECT_EQ(nlohmann::json::parse(loaded.output)["state"], "loaded");

  auto wrong = run_command({kBin + "/cloister", "infer", "models", "list", "--infer", g_provider->infer_url, "--ca",
                            g_provider->set.ca_file().string()},
                           std::chrono::seconds(30), {"CLOISTER_ADMIN_TOKEN=cla_wrong"});
  EXPECT_EQ(wrong.status, 1);
  EXPECT_NE(wrong.output.find("unauthenticated"), std::string::npos) << wrong.output;
}

// Runs last (gtest runs tests in order within the file): nothing of the images is left behind.
TEST(InferService, ZzTheProviderKeepsNoPatientDataOnDiskOrInLogs) {
  ASSERT_NE(g_provider, nullptr);
  const auto ct = slurp(kDicom / "CT_small.dcm");
  const std::vector<std::string> secrets = {
      "CompressedSamples^CT1",                 // PatientName of CT_small.dcm
      ct.substr(6300 + 16000, 64),             // 64 bytes from the middle of its Pixel Data
      crypto::base64_encode(crypto::as_bytes(ct.substr(6300 + 16002, 48))),
  };
  std::vector<fs::path> files;
  for (const auto& root : {g_provider->set.state("infer")}) {
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
      if (entry.is_regular_file()) files.push_back(entry.path());
    }
  }
  files.push_back(g_provider->set.log("infer"));
  files.push_back(g_provider->set.dir() / "infer.out");
  for (const auto& entry : fs::recursive_directory_iterator(g_provider->registry())) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  ASSERT_GT(files.size(), 3u);
  for (const auto& file : files) {
    const auto content = read_file(file);
    for (const auto& secret : secrets) {
      EXPECT_EQ(content.find(secret), std::string::npos) << file << " holds patient data";
    }
  }
  // The log has what operators need: the requests, their ids and outcomes.
  const auto log = read_file(g_provider->set.log("infer"));
  EXPECT_NE(log.find("/v1/models/{name}/diagnose"), std::string::npos);
  // Refusals answered inside the seal are logged by code (the detail stays sealed).
  EXPECT_NE(log.find(R"("code":"image_decode_failed","level":"warn","msg":"sealed request refused")"), std::string::npos);
  EXPECT_EQ(log.find("truncated"), std::string::npos) << "a refusal's detail stays inside the seal";
}

}  // namespace
}  // namespace cloister::testing

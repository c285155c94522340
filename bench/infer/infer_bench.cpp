// bench/infer: what confidentiality costs a diagnosis. One model (DenseNet-121 by default, exported
// with random weights by bench/engine/export_models.py), measured in the same run:
//   1. latency at batch 1: the engine in this process (Session::run) vs the whole path through a real
//      cloister-infer — attested caller, mutual TLS (keep-alive), sealed request (HPKE), OIP v2 binary
//      tensors, the provider's batcher and engine, sealed response with a signed receipt, opened and
//      parsed here. Interleaved (one in-process run, one end-to-end call, …) so drift hits both alike;
//      prints the medians and their ratio (target ≤ 1.05);
//   2. throughput under concurrent load (C clients, each its own connection, back to back) against two
//      providers side by side: dynamic batching on and off; prints requests/s and the ratio.
// Services: cloister-attest, cloister-keys and two cloister-infer (sim TEE) on loopback, set up as in
// production (the model sealed to an hpke-x25519 key of cloister-keys, released to the provider only).
#include "harness.h"

#include "../attest/keep_alive_client.h"
#include "sealed_model.h"

#include "cloister/core/private_files.h"
#include "cloister/crypto/base64.h"
#include "cloister/crypto/hash.h"
#include "cloister/engine/npy.h"
#include "cloister/engine/session.h"
#include "cloister/service/sealed_http.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

using namespace cloister;
namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

namespace {

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values.empty() ? 0 : values[values.size() / 2];
}
double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  return values.empty() ? 0 : values[std::min(values.size() - 1, static_cast<std::size_t>(p * values.size()))];
}

[[noreturn]] void die(const std::string& message) {
  std::cerr << "bench/infer: " << message << "\n";
  std::exit(1);
}

std::uint16_t port_of(const std::string& url) { return static_cast<std::uint16_t>(std::stoi(url.substr(url.rfind(':') + 1))); }

struct Target {
  std::string url;
  std::string token;
  crypto::Bytes hpke_public_key;
};

// An OIP v2 binary-tensor request for one input, and the parsed first output of the answer.
struct Caller {
  std::unique_ptr<bench::KeepAliveClient> connection;
  std::string authorization;
  crypto::Bytes recipient;
  std::string path;
  std::string inner_header;
  std::string tensor;

  // One sealed call; returns the first output's element count (checks the whole path worked).
  std::size_t call() {
    service::InnerMessage inner;
    inner.content_type = "application/octet-stream";
    inner.headers["Inference-Header-Content-Length"] = std::to_string(inner_header.size());
    inner.body = inner_header + tensor;
    auto sealed = crypto::sealed::seal_request(recipient, service::kAttestedHpkeKeyId, service::encode_inner_request(inner));
    if (!sealed) die("seal: " + sealed.error().to_string());
    auto response = connection->post(path, {{"Content-Type", std::string(service::kSealedRequestType)},
                                            {"Authorization", authorization}},
                                     crypto::to_string(sealed->message));
    if (response.status != 200) die("HTTP " + std::to_string(response.status) + ": " + response.body);
    auto opened = sealed->opener.open(crypto::as_bytes(response.body));
    if (!opened) die("open: " + opened.error().to_string());
    auto answer = service::decode_inner_response(*opened);
    if (!answer || answer->status != 200) die("inner: " + (answer ? answer->body : answer.error().to_string()));
    if (!answer->header("Cloister-Receipt")) die("no receipt");
    auto length = std::stoul(std::string(answer->header("Inference-Header-Content-Length").value_or("0")));
    auto header = nlohmann::json::parse(answer->body.substr(0, length));
    return header["outputs"][0]["parameters"]["binary_data_size"].get<std::size_t>() / sizeof(float);
  }
};

// Sums and counts of the provider's latency histograms (Prometheus text at /metrics), to split the
// end-to-end time: HTTP (whole request in the server), handler (opened body to sealed answer),
// queue wait and engine compute.
struct ServerTimes {
  std::map<std::string, std::pair<double, double>> series;  // name → (sum, count)
};

ServerTimes server_times(const http::Client& client, const std::string& url) {
  ServerTimes times;
  auto response = client.get(url + "/metrics");
  if (!response || response->status != 200) return times;
  const std::pair<const char*, const char*> wanted[] = {
      {"http", "cloister_http_request_duration_seconds_"},
      {"handler", "cloister_infer_request_seconds_"},
      {"queue", "cloister_infer_queue_wait_seconds_"},
      {"compute", "cloister_infer_compute_seconds_"},
  };
  std::istringstream lines(response->body);
  for (std::string line; std::getline(lines, line);) {
    for (const auto& [name, prefix] : wanted) {
      if (line.rfind(prefix, 0) != 0) continue;
      if (std::string(name) == "http" && line.find("infer\"") == std::string::npos) continue;  // the infer route only
      const auto value = std::stod(line.substr(line.rfind(' ') + 1));
      if (line.find("_sum") != std::string::npos) times.series[name].first += value;
      if (line.find("_count") != std::string::npos) times.series[name].second += value;
    }
  }
  return times;
}

// Mean milliseconds per request of each series between two snapshots.
std::string breakdown(const ServerTimes& before, const ServerTimes& after) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(2);
  for (const char* name : {"http", "handler", "queue", "compute"}) {
    auto a = after.series.count(name) ? after.series.at(name) : std::pair<double, double>{};
    auto b = before.series.count(name) ? before.series.at(name) : std::pair<double, double>{};
    const double count = a.second - b.second;
    out << " " << name << " " << (count > 0 ? 1000 * (a.first - b.first) / count : 0) << " ms";
  }
  return out.str();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench/infer: sealed, attested end-to-end inference vs the engine in-process"};
  std::string model_file, input_file;
  int threads = 0, requests = 40, clients = 8, seconds = 20, warmup = 3;
  app.add_option("--model", model_file, "ONNX model (bench/engine/export_models.py densenet121)")->required();
  app.add_option("--input", input_file, "Its input (.npy, batch 1); default <model>.input.npy beside it");
  app.add_option("--threads", threads, "Engine threads, in-process and in the provider (0: all cores)");
  app.add_option("--requests", requests, "Latency: measured calls of each kind");
  app.add_option("--clients", clients, "Throughput: concurrent clients");
  app.add_option("--seconds", seconds, "Throughput: seconds per provider");
  CLI11_PARSE(app, argc, argv);
  if (input_file.empty()) input_file = fs::path(model_file).replace_extension("").string() + ".input.npy";
  if (threads == 0) threads = static_cast<int>(std::thread::hardware_concurrency());

  auto onnx = read_file(model_file, std::size_t{2} << 30);
  if (!onnx) die(onnx.error().to_string());
  auto input = engine::read_npy_file(input_file);
  if (!input) die(input.error().to_string());
  auto session = engine::Session::load(std::as_bytes(std::span(onnx->data(), onnx->size())), {.threads = threads});
  if (!session) die(session.error().to_string());
  const auto& in_info = (*session)->inputs().at(0);
  const auto& out_info = (*session)->outputs().at(0);
  const auto name = fs::path(model_file).stem().string();
  std::cout << "bench/infer: " << name << ", input " << in_info.name << " [";
  for (std::size_t i = 0; i < input->shape().size(); ++i) std::cout << (i ? "," : "") << input->shape()[i];
  std::cout << "], " << threads << " engine thread(s), " << std::thread::hardware_concurrency() << " cores\n";

  // A manifest for the model as it is (classification: one label per output score).
  const auto classes = out_info.shape.size() == 2 && out_info.shape[1] > 0 ? out_info.shape[1] : 1;
  nlohmann::json labels = nlohmann::json::array();
  for (std::int64_t i = 0; i < classes; ++i) labels.push_back("class-" + std::to_string(i));
  auto shape = [](const std::vector<std::int64_t>& dims) { return nlohmann::json(dims); };  // -1: dynamic
  const nlohmann::json manifest = {
      {"name", "bench-" + name}, {"version", "1"},
      {"sha256", crypto::hex_encode(crypto::sha256(crypto::as_bytes(*onnx)))},
      {"task", "classification"}, {"intended_use", "Benchmark only: random weights."},
      {"inputs", {{{"name", in_info.name}, {"datatype", "FP32"}, {"shape", shape(in_info.shape)}}}},
      {"outputs", {{{"name", out_info.name}, {"datatype", "FP32"}, {"shape", shape(out_info.shape)}}}},
      {"labels", labels}, {"batching", {{"max_batch_size", 8}}}};

  // The services.
  testing::ServiceSet set("cloister-bench-infer");
  const auto attest = set.start_attest();
  if (attest.empty()) die(set.error());
  const auto keys = set.start("keys", set.sim_tee_settings(attest));
  if (keys.empty() || !set.wait_ready(keys)) die(set.error());
  auto admin_token = read_file(set.state("keys") / "admin-token", 4096);
  if (!admin_token) die(admin_token.error().to_string());
  while (!admin_token->empty() && admin_token->back() == '\n') admin_token->pop_back();
  const http::HeaderList admin = {{"Authorization", "Bearer " + *admin_token}};
  const nlohmann::json policy = {{"name", "provider"}, {"allow_simulated", true},
                                 {"all_of", {{{"claim", "measurement"},
                                              {"equals", testing::sim_measurement(fs::path(CLOISTER_BIN_DIR) / "cloister-infer")}}}}};
  auto created = set.client().post_json(keys + "/admin/keys", {{"name", "bench-models"}, {"type", "hpke-x25519"}, {"policy", policy}}, admin);
  if (!created || created->status != 201) die("create key: " + (created ? created->body : created.error().to_string()));
  auto key_document = nlohmann::json::parse(created->body);
  auto public_key = crypto::base64url_decode(key_document["versions"][0]["public_key"].get<std::string>()).value();
  const auto registry = set.dir() / "registry";
  const auto manifest_text = manifest.dump(2);
  auto sealed = infer::seal_model(crypto::as_bytes(*onnx), manifest_text, manifest["name"].get<std::string>(), "1",
                                  "bench-models", 1, public_key);
  if (!sealed) die(sealed.error().to_string());
  const auto entry = registry / manifest["name"].get<std::string>() / "1";
  fs::create_directories(entry);
  if (!write_private_file(entry / "model.sealed", crypto::to_string(*sealed)) ||
      !write_private_file(entry / "manifest.json", manifest_text)) {
    die("cannot write the registry");
  }

  auto provider = [&](const std::string& instance, bool batching) {
    auto settings = set.sim_tee_settings(attest);
    settings.insert(settings.end(), {"--set", "keys.url=" + keys, "--set", "registry.dir=" + registry.string(),
                                     "--set", "policy.allow_simulated=true", "--set", R"(policy.tee_types=["sim"])",
                                     "--set", "engine.threads=" + std::to_string(threads),
                                     "--set", std::string("batching.enabled=") + (batching ? "true" : "false"),
                                     "--set", "server.handler_threads=" + std::to_string(std::max(8, clients + 2)),
                                     "--set", "log.level=warn"});
    auto url = set.start("infer", settings, instance);
    if (url.empty() || !set.wait_ready(url)) die(set.error());
    auto client = set.client(nullptr, std::chrono::milliseconds(2000));
    for (int attempt = 0; attempt < 1200; ++attempt) {
      auto ready = client.get(url + "/v2/models/" + manifest["name"].get<std::string>() + "/ready");
      if (ready && ready->status == 200) return url;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    die(instance + ": the model did not load: " + testing::read_file(set.log(instance)));
  };
  const auto batched_url = provider("infer-batching", true);
  const auto unbatched_url = provider("infer-no-batching", false);

  auto caller = testing::make_attested_caller(set, attest);
  if (!caller.error.empty()) die(caller.error);
  const auto certificate = set.issue_client_certificate(caller.tls_key);
  const auto ca = testing::read_file(set.ca_file());
  const nlohmann::json oip = {
      {"inputs", {{{"name", in_info.name}, {"datatype", "FP32"}, {"shape", input->shape()},
                   {"parameters", {{"binary_data_size", input->byte_size()}}}}}},
      {"outputs", {{{"name", out_info.name}, {"parameters", {{"binary_data", true}}}}}}};
  auto make_caller = [&](const std::string& url) {
    auto document = nlohmann::json::parse(set.client().get(url + "/attestation").value().body);
    Caller c;
    c.connection = std::make_unique<bench::KeepAliveClient>("127.0.0.1", port_of(url), ca, certificate,
                                                            caller.tls_key.pem().reveal());
    c.authorization = "Attestation " + caller.token;
    for (const auto& jwk : document["runtime"]["keys"]) {
      if (jwk["kid"] == "hpke") c.recipient = crypto::base64url_decode(jwk["x"].get<std::string>()).value();
    }
    c.path = "/v2/models/" + manifest["name"].get<std::string>() + "/infer";
    c.inner_header = oip.dump();
    c.tensor.assign(reinterpret_cast<const char*>(input->bytes()), input->byte_size());
    return c;
  };

  // 1. Latency at batch 1, interleaved.
  for (const auto& [label, url] : {std::pair<std::string, std::string>{"batching on", batched_url}, {"batching off", unbatched_url}}) {
    auto remote = make_caller(url);
    ServerTimes before;
    std::vector<double> local_ms, remote_ms;
    for (int i = 0; i < warmup + requests; ++i) {
      auto t0 = SteadyClock::now();
      auto outputs = (*session)->run({{in_info.name, *input}});
      auto t1 = SteadyClock::now();
      if (!outputs) die(outputs.error().to_string());
      const auto elements = remote.call();
      auto t2 = SteadyClock::now();
      if (static_cast<std::int64_t>(elements) != outputs->front().tensor.element_count()) die("output size mismatch");
      if (i + 1 == warmup) before = server_times(set.client(), url);
      if (i >= warmup) {
        local_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        remote_ms.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
      }
    }
    std::cout << std::fixed << std::setprecision(2) << "latency, batch 1, provider with " << label << " (" << requests
              << " calls each): in-process median " << median(local_ms) << " ms (p90 " << percentile(local_ms, 0.9)
              << "), sealed attested HTTPS median " << median(remote_ms) << " ms (p90 " << percentile(remote_ms, 0.9)
              << "), ratio " << std::setprecision(3) << median(remote_ms) / median(local_ms) << " (target <= 1.05)\n"
              << "  inside the provider (means):" << breakdown(before, server_times(set.client(), url)) << "\n";
  }

  // 2. Throughput under concurrent load.
  std::map<std::string, double> rates;
  for (const auto& [label, url] : {std::pair<std::string, std::string>{"batching on", batched_url}, {"batching off", unbatched_url}}) {
    std::vector<Caller> callers;
    for (int i = 0; i < clients; ++i) callers.push_back(make_caller(url));
    std::atomic<long> done{0};
    const auto until = SteadyClock::now() + std::chrono::seconds(seconds);
    std::vector<std::thread> workers;
    for (auto& c : callers) {
      workers.emplace_back([&c, &done, until = until] {
        while (SteadyClock::now() < until) {
          c.call();
          ++done;
        }
      });
    }
    for (auto& worker : workers) worker.join();
    rates[label] = static_cast<double>(done.load()) / seconds;
    std::cout << std::fixed << std::setprecision(2) << "throughput, " << clients << " clients, " << seconds
              << " s, provider with " << label << ": " << rates[label] << " requests/s\n";
  }
  std::cout << std::fixed << std::setprecision(3) << "dynamic batching throughput ratio (on / off): "
            << rates["batching on"] / rates["batching off"] << "\n";
  return 0;
}

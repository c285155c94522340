#include "infer_service.h"

#include "diagnose.h"
#include "oip_codec.h"

#include "cloister/core/log.h"
#include "cloister/http/response.h"
#include "cloister/service/sealed_http.h"

#include <openssl/crypto.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <charconv>
#include <thread>

namespace cloister::infer {

namespace {

constexpr std::string_view kAdminRealm = R"(Bearer realm="cloister-infer admin")";

std::optional<std::string> optional_query(const http::Request& request, const char* name) {
  auto it = request.query.find(name);
  if (it == request.query.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> version_param(const http::Request& request) {
  auto version = request.param("version");
  if (version.empty()) return std::nullopt;
  return std::string(version);
}

crypto::BytesView bytes_of(std::string_view text) { return crypto::as_bytes(text); }

}  // namespace

std::vector<ConfigOption> infer_options() {
  return {
      {"registry.dir", "", "Model registry: <dir>/<name>/<version>/{manifest.json, model.sealed}; empty: <state_dir>/models"},
      {"registry.load", "all", "Models loaded at start: all (the newest version of each) or none"},
      {"registry.max_sealed_model_bytes", 1073741824, "Largest sealed model file read"},
      {"keys.url", "", "cloister-keys base URL: model keys are released from it to this attested TEE"},
      {"engine.threads", 0, "Threads each model run uses (0: all cores)"},
      {"batching.enabled", true, "Dynamic batching: requests for a model that arrive together run as one batch"},
      {"batching.max_batch_size", 8, "Largest batch (also capped by each manifest's batching.max_batch_size)"},
      {"batching.max_delay_us", 2000, "How long a request waits for others to batch with (microseconds)"},
      {"batching.max_queue", 64, "Requests queued per model; beyond it: 429 too_many_requests"},
      {"batching.workers", 1, "Batches of one model that run at once"},
      {"batching.adaptive_delay", true,
       "A lone request on an idle model runs at once; max_delay is waited only while requests arrive together"},
      {"infer.default_timeout_ms", 30000, "Deadline of an inference request without a Cloister-Timeout-Ms header"},
      {"infer.max_timeout_ms", 300000, "Largest deadline a caller may ask for"},
      {"infer.max_tensor_elements", 67108864, "Largest tensor (elements) an infer request may carry"},
      {"admin.credentials", nlohmann::json::array(),
       "Admin bearer credentials [{name, sha256}]; empty: one generated at first start into <state_dir>/admin-token"},
  };
}

Result<InferOptions> infer_options_from(const Config& config) {
  InferOptions options;
  const auto default_ms = config.get_int("infer.default_timeout_ms");
  const auto max_ms = config.get_int("infer.max_timeout_ms");
  const auto elements = config.get_int("infer.max_tensor_elements");
  if (default_ms < 1 || max_ms < default_ms) {
    return fail(ErrorCode::config_invalid, "infer.default_timeout_ms must be >= 1 and <= infer.max_timeout_ms");
  }
  if (elements < 1) return fail(ErrorCode::config_invalid, "infer.max_tensor_elements must be >= 1");
  options.default_timeout = std::chrono::milliseconds(default_ms);
  options.max_timeout = std::chrono::milliseconds(max_ms);
  options.max_tensor_elements = static_cast<std::size_t>(elements);
  return options;
}

Result<RegistryOptions> registry_options_from(const Config& config) {
  RegistryOptions options;
  auto directory = config.get_string("registry.dir");
  options.directory = directory.empty() ? std::filesystem::path(config.get_string("state_dir")) / "models"
                                        : std::filesystem::path(directory);
  const auto threads = config.get_int("engine.threads");
  const auto batch = config.get_int("batching.max_batch_size");
  const auto delay = config.get_int("batching.max_delay_us");
  const auto queue = config.get_int("batching.max_queue");
  const auto workers = config.get_int("batching.workers");
  const auto max_bytes = config.get_int("registry.max_sealed_model_bytes");
  if (threads < 0 || batch < 1 || batch > 64 || delay < 0 || delay > 1000000 || queue < 1 || workers < 1 ||
      workers > 64 || max_bytes < 1) {
    return fail(ErrorCode::config_invalid,
                "engine.threads >= 0, batching.max_batch_size 1-64, batching.max_delay_us 0-1000000, "
                "batching.max_queue >= 1, batching.workers 1-64, registry.max_sealed_model_bytes >= 1");
  }
  const auto load = config.get_string("registry.load");
  if (load != "all" && load != "none") return fail(ErrorCode::config_invalid, "registry.load is all or none");
  options.session.threads = static_cast<int>(threads);
  options.batching.max_batch_size = static_cast<std::size_t>(batch);
  options.batching.max_delay = std::chrono::microseconds(delay);
  options.batching.max_queue = static_cast<std::size_t>(queue);
  options.batching.workers = static_cast<std::size_t>(workers);
  options.dynamic_batching = config.get_bool("batching.enabled");
  options.batching.adaptive_delay = config.get_bool("batching.adaptive_delay");
  options.max_sealed_model_bytes = static_cast<std::size_t>(max_bytes);
  return options;
}

struct InferService::State {
  ModelRegistry& registry;
  service::AttestedIdentity& identity;
  service::AdminCredentials admin;
  InferOptions options;
  ReceiptSigner receipts;
  prometheus::Family<prometheus::Histogram>& latency;
  prometheus::Family<prometheus::Counter>& admin_failures;

  State(ModelRegistry& r, service::AttestedIdentity& i, service::AdminCredentials a, InferOptions o,
        const crypto::PrivateKey& tls_key, prometheus::Registry& metrics)
      : registry(r),
        identity(i),
        admin(std::move(a)),
        options(o),
        receipts(tls_key, [&i] { return i.token().reveal(); }, SystemClock::instance()),
        latency(prometheus::BuildHistogram()
                    .Name("cloister_infer_request_seconds")
                    .Help("Inference requests from opened body to sealed answer, by model and endpoint")
                    .Register(metrics)),
        admin_failures(prometheus::BuildCounter()
                           .Name("cloister_infer_admin_auth_failures_total")
                           .Help("Admin requests refused for a missing or wrong bearer credential")
                           .Register(metrics)) {}

  Result<std::chrono::steady_clock::time_point> deadline(const http::Request& request) const {
    auto value = request.header(kTimeoutHeader);
    auto timeout = options.default_timeout;
    if (value) {
      long long ms = 0;
      auto [end, error] = std::from_chars(value->data(), value->data() + value->size(), ms);
      if (error != std::errc() || end != value->data() + value->size() || ms < 1 || ms > options.max_timeout.count()) {
        return fail(ErrorCode::invalid_argument, std::string(kTimeoutHeader) + " is 1.." +
                                                     std::to_string(options.max_timeout.count()) + " milliseconds");
      }
      timeout = std::chrono::milliseconds(ms);
    }
    return std::chrono::steady_clock::now() + timeout;
  }

  // What every inference call needs first: its deadline and the loaded model it names.
  Result<std::pair<std::chrono::steady_clock::time_point, std::shared_ptr<const LoadedModel>>> prepare(
      const http::Request& request) const {
    auto deadline = this->deadline(request);
    if (!deadline) return std::unexpected(deadline.error());
    auto model = this->model(request);
    if (!model) return std::unexpected(model.error());
    return std::pair{*deadline, std::move(*model)};
  }

  Result<std::shared_ptr<const LoadedModel>> model(const http::Request& request) const {
    const std::string name(request.param("name"));
    auto version = version_param(request);
    auto model = registry.get(name, version);
    if (!model) {
      if (registry.versions(name).empty()) return fail(ErrorCode::not_found, "no model '" + name + "'");
      return fail(ErrorCode::model_unavailable, "model '" + name + (version ? ":" + *version : "") + "' is not loaded");
    }
    return model;
  }

  void observe(const LoadedModel& model, const char* endpoint, std::chrono::steady_clock::time_point started) {
    latency
        .Add({{"model", model.label()}, {"endpoint", endpoint}},
             prometheus::Histogram::BucketBoundaries{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10})
        .Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }

  // Signs the receipt for an answer and puts it in the inner response.
  Result<service::InnerMessage> answer(std::string endpoint, const LoadedModel& model, const service::InnerMessage& inner,
                                       const attestation::VerifiedToken& caller, service::InnerMessage response) {
    auto receipt = receipts.sign({std::move(endpoint), model.manifest.name, model.manifest.version, model.manifest.sha256,
                                  bytes_of(inner.body), bytes_of(response.body), caller.jti});
    if (!receipt) return std::unexpected(receipt.error());
    response.headers[std::string(kReceiptHeader)] = std::move(receipt->receipt);
    response.headers[std::string(kProviderTokenHeader)] = std::move(receipt->provider_token);
    return response;
  }

  Result<service::InnerMessage> infer(const http::Request& request, const service::InnerMessage& inner,
                                      const attestation::VerifiedToken& caller) {
    const auto started = std::chrono::steady_clock::now();
    auto call = prepare(request);
    if (!call) return std::unexpected(call.error());
    auto& [deadline, model] = *call;
    std::optional<std::size_t> header_length;
    if (auto value = inner.header(kInferenceHeaderContentLength)) {
      std::size_t length = 0;
      auto [end, error] = std::from_chars(value->data(), value->data() + value->size(), length);
      if (error != std::errc() || end != value->data() + value->size()) {
        return fail(ErrorCode::bad_request, std::string(kInferenceHeaderContentLength) + " is not a number");
      }
      header_length = length;
    }
    const auto& session = *model->session;
    auto parsed = parse_infer_request(inner.body, header_length, session.inputs(), session.outputs(),
                                      options.max_tensor_elements);
    if (!parsed) return std::unexpected(parsed.error());
    auto outputs = model->batcher->submit(std::move(parsed->inputs), deadline);
    if (!outputs) return std::unexpected(outputs.error());
    auto encoded = encode_infer_response(model->manifest.name, model->manifest.version, *parsed, *outputs);
    for (auto& output : *outputs) {
      if (output.tensor.byte_size() > 0) OPENSSL_cleanse(output.tensor.bytes(), output.tensor.byte_size());
    }
    if (!encoded) return std::unexpected(encoded.error());
    service::InnerMessage response;
    response.status = 200;
    if (encoded->json_header_length) {
      response.content_type = "application/octet-stream";
      response.headers[std::string(kInferenceHeaderContentLength)] = std::to_string(*encoded->json_header_length);
    } else {
      response.content_type = "application/json";
    }
    response.body = std::move(encoded->body);
    observe(*model, "infer", started);
    return answer("infer", *model, inner, caller, std::move(response));
  }

  Result<service::InnerMessage> diagnose_image(const http::Request& request, const service::InnerMessage& inner,
                                               const attestation::VerifiedToken& caller) {
    const auto started = std::chrono::steady_clock::now();
    auto call = prepare(request);
    if (!call) return std::unexpected(call.error());
    auto& [deadline, model] = *call;
    auto result = diagnose(*model, inner.content_type, inner.body, deadline);
    if (!result) return std::unexpected(result.error());
    service::InnerMessage response;
    response.status = 200;
    response.content_type = "application/json";
    response.body = result->dump();
    observe(*model, "diagnose", started);
    return answer("diagnose", *model, inner, caller, std::move(response));
  }

  http::Handler admin_only(std::function<Result<http::Response>(const http::Request&, const std::string&)> handler) {
    return [this, handler = std::move(handler)](const http::Request& request) -> Result<http::Response> {
      auto who = admin.authenticate(request.header("Authorization"));
      if (!who) {
        admin_failures.Add({}).Increment();
        log::warn("admin authentication failed", {{"request_id", request.request_id}, {"client", request.remote_address}});
        auto response = http::problem_response(who.error(), request.request_id, request.path);
        response.set_header("WWW-Authenticate", std::string(kAdminRealm));
        return response;
      }
      return handler(request, *who);
    };
  }
};

InferService::InferService(ModelRegistry& registry, service::AttestedIdentity& identity,
                           const crypto::PrivateKey& tls_key, service::AdminCredentials admin, InferOptions options,
                           prometheus::Registry& metrics)
    : state_(std::make_unique<State>(registry, identity, std::move(admin), options, tls_key, metrics)) {}

InferService::~InferService() = default;

void InferService::add_routes(http::Router& router, const service::CallerAuth& callers) {
  auto* state = state_.get();
  auto& registry = state->registry;

  // --- Open Inference Protocol v2: health and metadata ---
  router.add("GET", "/v2/health/live", [](const http::Request&) -> Result<http::Response> {
    return http::json_response(200, {{"live", true}});
  }, "OIP v2: the server is live");
  router.add("GET", "/v2/health/ready", [state](const http::Request&) -> Result<http::Response> {
    if (!state->identity.has_token()) return fail(ErrorCode::unavailable, "the provider holds no attestation token yet");
    return http::json_response(200, {{"ready", true}});
  }, "OIP v2: the server is ready (it holds an attestation token)");
  router.add("GET", "/v2", [](const http::Request&) -> Result<http::Response> {
    return http::json_response(200, {{"name", "cloister-infer"}, {"version", "1"},
                                     {"extensions", {"binary_tensor_data", "cloister_sealed_bodies", "cloister_receipts"}}});
  }, "OIP v2: server metadata");
  auto model_ready = [&registry](const http::Request& request) -> Result<http::Response> {
    const std::string name(request.param("name"));
    auto version = version_param(request);
    auto model = registry.get(name, version);
    if (!model) {
      // A normal answer for a probe (not a handler failure to log): 404 unknown, 503 not loaded.
      const bool known = !registry.versions(name).empty();
      return http::problem_response(Error{known ? ErrorCode::model_unavailable : ErrorCode::not_found,
                                          "model '" + name + "' is " + (known ? "not loaded" : "unknown")},
                                    request.request_id, request.path);
    }
    return http::json_response(200, {{"name", name}, {"version", model->manifest.version}, {"ready", true}});
  };
  router.add("GET", "/v2/models/{name}/ready", model_ready, "OIP v2: 200 when the model is loaded, 503 when not");
  router.add("GET", "/v2/models/{name}/versions/{version}/ready", model_ready, "OIP v2: the same for one version");

  router.add("GET", "/v2/models", callers.require([&registry](const http::Request&, const attestation::VerifiedToken&)
                                                      -> Result<http::Response> {
    std::map<std::string, std::vector<std::string>> versions;
    for (const auto& model : registry.loaded()) versions[model->manifest.name].push_back(model->manifest.version);
    nlohmann::json models = nlohmann::json::array();
    for (const auto& [name, list] : versions) {
      models.push_back({{"name", name}, {"versions", list}, {"platform", "cloister-onnx"}});
    }
    return http::json_response(200, {{"models", std::move(models)}});
  }), "OIP v2 (attested caller): the loaded models");
  auto metadata = callers.require([state](const http::Request& request, const attestation::VerifiedToken&)
                                      -> Result<http::Response> {
    auto model = state->model(request);
    if (!model) return std::unexpected(model.error());
    std::vector<std::string> versions;
    for (const auto& loaded : state->registry.loaded()) {
      if (loaded->manifest.name == (*model)->manifest.name) versions.push_back(loaded->manifest.version);
    }
    auto body = model_metadata((*model)->manifest.name, versions, (*model)->session->inputs(), (*model)->session->outputs());
    const auto& manifest = (*model)->manifest;
    body["cloister"] = {{"version", manifest.version}, {"sha256", manifest.sha256}, {"task", task_name(manifest.task)},
                        {"labels", manifest.labels}, {"intended_use", manifest.intended_use},
                        {"max_batch_size", (*model)->batcher->options().max_batch_size}};
    return http::json_response(200, body);
  });
  router.add("GET", "/v2/models/{name}", metadata, "OIP v2 (attested caller): model metadata");
  router.add("GET", "/v2/models/{name}/versions/{version}", metadata, "OIP v2 (attested caller): one version's metadata");

  // --- Inference: attested callers, sealed bodies, receipts ---
  const auto& private_key = state->identity.hpke_private_key();
  auto infer = callers.require(service::sealed_handler(
      private_key, [state](const http::Request& request, const service::InnerMessage& inner,
                           const attestation::VerifiedToken& caller) { return state->infer(request, inner, caller); }));
  router.add("POST", "/v2/models/{name}/infer", infer,
             "OIP v2 (attested caller, sealed body): inference on JSON or binary tensors; signed receipt");
  router.add("POST", "/v2/models/{name}/versions/{version}/infer", infer, "OIP v2: inference on one version");
  auto diagnose_route = callers.require(service::sealed_handler(
      private_key, [state](const http::Request& request, const service::InnerMessage& inner,
                           const attestation::VerifiedToken& caller) { return state->diagnose_image(request, inner, caller); }));
  router.add("POST", "/v1/models/{name}/diagnose", diagnose_route,
             "Attested caller, sealed body: DICOM object or series, PNG or JPEG in; findings and masks out; signed receipt");
  router.add("POST", "/v1/models/{name}/versions/{version}/diagnose", diagnose_route, "Diagnosis with one version");

  // --- Admin: the registry ---
  router.add("GET", "/admin/models", state->admin_only([&registry](const http::Request&, const std::string&)
                                                           -> Result<http::Response> {
    return http::json_response(200, {{"models", registry.list()}});
  }), "Admin: every model version in the registry and its state");
  router.add("GET", "/admin/models/{name}", state->admin_only([&registry](const http::Request& request, const std::string&)
                                                                  -> Result<http::Response> {
    auto described = registry.describe(std::string(request.param("name")), optional_query(request, "version"));
    if (!described) return std::unexpected(described.error());
    return http::json_response(200, *described);
  }), "Admin: one model (?version=V): manifest, state, load time, engine statistics, model card");
  router.add("POST", "/admin/models/{name}/load", state->admin_only([&registry](const http::Request& request,
                                                                                const std::string& who)
                                                                        -> Result<http::Response> {
    const std::string name(request.param("name"));
    auto loaded = registry.load(name, optional_query(request, "version"));
    if (!loaded) return std::unexpected(loaded.error());
    log::info("admin loaded model", {{"who", who}, {"model", (*loaded)->label()}, {"request_id", request.request_id}});
    return http::json_response(200, {{"name", (*loaded)->manifest.name}, {"version", (*loaded)->manifest.version},
                                     {"sha256", (*loaded)->manifest.sha256}, {"state", "loaded"},
                                     {"load_seconds", (*loaded)->load_seconds}});
  }), "Admin: load a model (?version=V; default the newest)");
  router.add("POST", "/admin/models/{name}/unload", state->admin_only([&registry](const http::Request& request,
                                                                                  const std::string& who)
                                                                          -> Result<http::Response> {
    const std::string name(request.param("name"));
    auto version = optional_query(request, "version");
    if (auto unloaded = registry.unload(name, version); !unloaded) return std::unexpected(unloaded.error());
    log::info("admin unloaded model", {{"who", who}, {"model", name + (version ? ":" + *version : "")},
                                       {"request_id", request.request_id}});
    return http::json_response(200, {{"name", name}, {"state", "unloaded"}});
  }), "Admin: unload a model (?version=V; default every version)");
}

}  // namespace cloister::infer

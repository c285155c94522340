#include "model_registry.h"

#include "sealed_model.h"

#include "cloister/core/log.h"
#include "cloister/core/private_files.h"
#include "cloister/crypto/hash.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <algorithm>

namespace cloister::infer {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxManifestBytes = 256 * 1024;
constexpr std::size_t kMaxModelCardBytes = 256 * 1024;

bool numeric(const std::string& text) {
  return !text.empty() && text.size() < 19 && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Version order: numeric versions by value, before and apart from other versions (by text).
bool version_less(const std::string& a, const std::string& b) {
  const bool na = numeric(a), nb = numeric(b);
  if (na && nb) return std::stoll(a) < std::stoll(b);
  if (na != nb) return na;
  return a < b;
}

bool safe_segment(const std::string& text) {
  return !text.empty() && text.size() <= 64 && text != "." && text != ".." &&
         std::all_of(text.begin(), text.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
         });
}

}  // namespace

struct ModelRegistry::Metrics {
  prometheus::Family<prometheus::Gauge>& load_seconds;
  prometheus::Family<prometheus::Counter>& loads;
  prometheus::Gauge& loaded;

  explicit Metrics(prometheus::Registry& registry)
      : load_seconds(prometheus::BuildGauge()
                         .Name("cloister_infer_model_load_seconds")
                         .Help("Time the last load of a model took: key release, decryption, engine load and warm-up")
                         .Register(registry)),
        loads(prometheus::BuildCounter()
                  .Name("cloister_infer_model_loads_total")
                  .Help("Model loads by outcome (ok or the error code)")
                  .Register(registry)),
        loaded(prometheus::BuildGauge()
                   .Name("cloister_infer_models_loaded")
                   .Help("Model versions loaded now")
                   .Register(registry)
                   .Add({})) {}
};

LoadedModel::~LoadedModel() {
  if (batcher) batcher->stop();
  batcher.reset();
  session.reset();
}

ModelRegistry::ModelRegistry(RegistryOptions options, KeySource keys, prometheus::Registry& registry)
    : options_(std::move(options)),
      keys_(std::move(keys)),
      metrics_(std::make_unique<Metrics>(registry)),
      batcher_metrics_(make_batcher_metrics(registry)) {}

ModelRegistry::~ModelRegistry() {
  std::lock_guard lock(mutex_);
  loaded_.clear();
  for (auto& [id, key] : key_cache_) crypto::cleanse(key.reveal());
}

std::vector<std::string> ModelRegistry::versions(const std::string& name) const {
  std::vector<std::string> out;
  if (!safe_segment(name)) return out;
  std::error_code error;
  const auto directory = options_.directory / name;
  if (!fs::is_directory(directory, error)) return out;
  for (const auto& entry : fs::directory_iterator(directory, error)) {
    const auto version = entry.path().filename().string();
    if (entry.is_directory(error) && safe_segment(version) && fs::exists(entry.path() / "manifest.json", error)) {
      out.push_back(version);
    }
  }
  std::sort(out.begin(), out.end(), version_less);
  return out;
}

std::vector<std::string> ModelRegistry::model_names() const {
  std::vector<std::string> names;
  std::error_code error;
  if (!fs::is_directory(options_.directory, error)) return names;
  for (const auto& entry : fs::directory_iterator(options_.directory, error)) {
    if (entry.is_directory(error) && safe_segment(entry.path().filename().string())) {
      names.push_back(entry.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

nlohmann::json ModelRegistry::list() const {
  nlohmann::json models = nlohmann::json::array();
  // The directory is read before taking the lock (no file I/O under it).
  std::vector<std::pair<std::string, std::vector<std::string>>> entries;
  for (auto& name : model_names()) {
    auto all = versions(name);
    entries.emplace_back(std::move(name), std::move(all));
  }
  std::lock_guard lock(mutex_);
  for (const auto& [name, all] : entries) {
    for (const auto& version : all) {
      nlohmann::json item = {{"name", name}, {"version", version}, {"state", "available"}};
      auto model = loaded_.find(name);
      if (model != loaded_.end() && model->second.contains(version)) {
        const auto& loaded = *model->second.at(version);
        item["state"] = "loaded";
        item["sha256"] = loaded.manifest.sha256;
        item["task"] = task_name(loaded.manifest.task);
      } else if (auto failure = failures_.find(name + ":" + version); failure != failures_.end()) {
        item["state"] = "failed";
        item["error"] = failure->second;
      }
      models.push_back(std::move(item));
    }
  }
  return models;
}

Result<nlohmann::json> ModelRegistry::describe(const std::string& name, const std::optional<std::string>& version) const {
  auto all = versions(name);
  if (all.empty()) return fail(ErrorCode::not_found, "no model '" + name + "' in the registry");
  const std::string chosen = version ? *version : all.back();
  if (std::find(all.begin(), all.end(), chosen) == all.end()) {
    return fail(ErrorCode::not_found, "model '" + name + "' has no version '" + chosen + "'");
  }
  nlohmann::json out = {{"name", name}, {"version", chosen}, {"versions", all}, {"state", "available"}};
  if (auto model = get(name, chosen)) {
    const auto stats = model->session->stats();
    out["state"] = "loaded";
    out["manifest"] = model->manifest.document;
    out["model_card"] = model->model_card;
    out["load_seconds"] = model->load_seconds;
    out["loaded_at"] = model->loaded_at;
    out["max_batch_size"] = model->batcher->options().max_batch_size;
    out["engine"] = {{"graph_nodes", stats.graph_nodes}, {"steps", stats.steps}, {"fused_nodes", stats.fused_nodes},
                     {"arena_bytes", stats.arena_bytes}, {"flops", stats.flops}};
    return out;
  }
  // Not loaded: the manifest as it is on disk (it is not secret; the model is).
  auto text = read_file(options_.directory / name / chosen / "manifest.json", kMaxManifestBytes);
  if (text) {
    auto manifest = parse_manifest_text(*text);
    if (manifest) {
      out["manifest"] = manifest->document;
    } else {
      out["error"] = manifest.error().name();
    }
  }
  std::lock_guard lock(mutex_);
  if (auto failure = failures_.find(name + ":" + chosen); failure != failures_.end()) {
    out["state"] = "failed";
    out["error"] = failure->second;
  }
  return out;
}

Result<Sensitive<crypto::Bytes>> ModelRegistry::model_key(const std::string& name, std::uint64_t version) {
  {
    std::lock_guard lock(mutex_);
    if (auto it = key_cache_.find({name, version}); it != key_cache_.end()) return it->second;
  }
  auto key = keys_(name, version);
  if (!key) return std::unexpected(key.error());
  std::lock_guard lock(mutex_);
  key_cache_[{name, version}] = *key;
  return key;
}

Result<std::shared_ptr<const LoadedModel>> ModelRegistry::load(const std::string& name,
                                                               const std::optional<std::string>& version) {
  std::lock_guard load_lock(load_mutex_);
  auto all = versions(name);
  if (all.empty()) return fail(ErrorCode::not_found, "no model '" + name + "' in the registry");
  const std::string chosen = version ? *version : all.back();
  if (std::find(all.begin(), all.end(), chosen) == all.end()) {
    return fail(ErrorCode::not_found, "model '" + name + "' has no version '" + chosen + "'");
  }
  if (auto existing = get(name, chosen)) return existing;

  const auto started = std::chrono::steady_clock::now();
  const std::string label = name + ":" + chosen;
  auto record_failure = [&](const Error& error) -> Result<std::shared_ptr<const LoadedModel>> {
    metrics_->loads.Add({{"model", label}, {"outcome", std::string(error.name())}}).Increment();
    std::lock_guard lock(mutex_);
    failures_[label] = std::string(error.name());
    log::warn("model load failed", {{"model", label}, {"code", error.name()}, {"detail", error.detail}});
    return std::unexpected(error);
  };

  const auto directory = options_.directory / name / chosen;
  auto manifest_text = read_file(directory / "manifest.json", kMaxManifestBytes);
  if (!manifest_text) return record_failure(manifest_text.error());
  auto manifest = parse_manifest_text(*manifest_text);
  if (!manifest) return record_failure(manifest.error());
  if (manifest->name != name || manifest->version != chosen) {
    return record_failure(Error{ErrorCode::model_manifest_invalid,
                                "manifest: name and version must be those of its directory (" + label + ")"});
  }
  auto sealed_text = read_file(directory / "model.sealed", options_.max_sealed_model_bytes);
  if (!sealed_text) return record_failure(sealed_text.error());
  const auto sealed = crypto::as_bytes(*sealed_text);
  auto header = read_sealed_header(sealed);
  if (!header) return record_failure(header.error());
  if (header->model != name || header->model_version != chosen || header->model_sha256 != manifest->sha256) {
    return record_failure(Error{ErrorCode::model_integrity_failed, "the sealed model is not the manifest's model"});
  }
  auto key = model_key(header->key_name, header->key_version);
  if (!key) return record_failure(key.error());
  auto onnx = open_model(sealed, *manifest_text, key->reveal());
  crypto::cleanse(key->reveal());
  if (!onnx) return record_failure(onnx.error());
  auto session = engine::Session::load(std::as_bytes(std::span(onnx->reveal())), options_.session);
  crypto::cleanse(onnx->reveal());  // the engine holds the graph; the serialized model goes
  if (!session) return record_failure(session.error());
  if (auto checked = check_against_model(*manifest, **session); !checked) return record_failure(checked.error());

  auto model = std::make_shared<LoadedModel>();
  model->manifest = std::move(*manifest);
  if (!model->manifest.model_card.empty()) {
    auto card = read_file(directory / model->manifest.model_card, kMaxModelCardBytes);
    if (card) model->model_card = std::move(*card);
  }
  model->session = std::move(*session);
  auto batching = options_.batching;
  batching.max_batch_size =
      options_.dynamic_batching ? std::max<std::size_t>(1, std::min(batching.max_batch_size, model->manifest.max_batch_size)) : 1;
  const engine::Session* engine = model->session.get();
  model->batcher = std::make_unique<Batcher>(
      label, [engine](std::span<const engine::NamedTensor> inputs) { return engine->run(inputs); }, batching,
      batcher_metrics_);
  model->load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  model->loaded_at = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  metrics_->load_seconds.Add({{"model", label}}).Set(model->load_seconds);
  metrics_->loads.Add({{"model", label}, {"outcome", "ok"}}).Increment();
  log::info("model loaded", {{"model", label}, {"sha256", model->manifest.sha256}, {"seconds", model->load_seconds},
                             {"max_batch_size", batching.max_batch_size}});
  std::shared_ptr<const LoadedModel> shared = std::move(model);
  std::lock_guard lock(mutex_);
  loaded_[name][chosen] = shared;
  failures_.erase(label);
  std::size_t count = 0;
  for (const auto& [n, v] : loaded_) count += v.size();
  metrics_->loaded.Set(static_cast<double>(count));
  return shared;
}

Status ModelRegistry::unload(const std::string& name, const std::optional<std::string>& version) {
  std::shared_ptr<const LoadedModel> last;  // released outside the lock
  std::map<std::string, std::shared_ptr<const LoadedModel>> all;
  {
    std::lock_guard lock(mutex_);
    auto model = loaded_.find(name);
    if (model == loaded_.end()) return fail(ErrorCode::not_found, "model '" + name + "' is not loaded");
    if (version) {
      auto it = model->second.find(*version);
      if (it == model->second.end()) return fail(ErrorCode::not_found, "model '" + name + ":" + *version + "' is not loaded");
      last = std::move(it->second);
      model->second.erase(it);
      if (model->second.empty()) loaded_.erase(model);
    } else {
      all = std::move(model->second);
      loaded_.erase(model);
    }
    std::size_t count = 0;
    for (const auto& [n, v] : loaded_) count += v.size();
    metrics_->loaded.Set(static_cast<double>(count));
  }
  log::info("model unloaded", {{"model", name + (version ? ":" + *version : std::string(":*"))}});
  return {};
}

void ModelRegistry::load_all() {
  std::error_code error;
  if (!fs::is_directory(options_.directory, error)) {
    log::warn("model registry directory absent", {{"directory", options_.directory.string()}});
    return;
  }
  for (const auto& name : model_names()) (void)load(name, std::nullopt);
}

std::shared_ptr<const LoadedModel> ModelRegistry::get(const std::string& name,
                                                      const std::optional<std::string>& version) const {
  std::lock_guard lock(mutex_);
  auto model = loaded_.find(name);
  if (model == loaded_.end() || model->second.empty()) return nullptr;
  if (version) {
    auto it = model->second.find(*version);
    return it == model->second.end() ? nullptr : it->second;
  }
  // The newest loaded version.
  std::shared_ptr<const LoadedModel> best;
  for (const auto& [v, loaded] : model->second) {
    if (!best || version_less(best->manifest.version, v)) best = loaded;
  }
  return best;
}

std::vector<std::shared_ptr<const LoadedModel>> ModelRegistry::loaded() const {
  std::vector<std::shared_ptr<const LoadedModel>> out;
  std::lock_guard lock(mutex_);
  for (const auto& [name, versions] : loaded_) {
    for (const auto& [version, model] : versions) out.push_back(model);
  }
  return out;
}

}  // namespace cloister::infer

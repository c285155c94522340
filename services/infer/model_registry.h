#pragma once
// The model registry (docs/infer.md §4): a directory of sealed models,
//
//   <registry.dir>/<name>/<version>/manifest.json   the manifest (model_manifest.h)
//                                  /model.sealed    the sealed ONNX model (sealed_model.h)
//                                  /MODEL_CARD.md   optional, shown by describe
//
// and the models loaded from it. Loading reads both files, gets the model key named in the sealed
// header from cloister-keys (released only to this attested TEE; kept in memory), decrypts the
// model in memory only, checks its SHA-256, loads it into the engine, checks it against its manifest
// and starts its batcher. Plaintext model bytes are wiped as soon as the engine holds the graph.

#include "batcher.h"
#include "model_manifest.h"

#include "cloister/core/error.h"
#include "cloister/core/sensitive.h"
#include "cloister/crypto/bytes.h"
#include "cloister/engine/session.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace prometheus {
class Registry;
}

namespace cloister::infer {

struct RegistryOptions {
  std::filesystem::path directory;
  engine::SessionOptions session;
  BatchOptions batching;               // max_batch_size here caps each manifest's
  bool dynamic_batching = true;        // false: every request runs alone
  std::size_t max_sealed_model_bytes = std::size_t{1} << 30;
};

struct LoadedModel {
  ModelManifest manifest;
  std::string model_card;  // markdown, "" when none
  std::unique_ptr<engine::Session> session;
  std::unique_ptr<Batcher> batcher;  // destroyed before the session
  double load_seconds = 0;
  std::int64_t loaded_at = 0;  // unix seconds

  ~LoadedModel();
  std::string label() const { return manifest.name + ":" + manifest.version; }
};

class ModelRegistry {
 public:
  // Releases the private key of a key version (cloister-keys, this TEE's attested identity).
  using KeySource = std::function<Result<Sensitive<crypto::Bytes>>(const std::string& name, std::uint64_t version)>;

  ModelRegistry(RegistryOptions options, KeySource keys, prometheus::Registry& registry);
  ~ModelRegistry();

  // Every model version in the directory with its state: {"name", "version", "state":
  // "loaded"|"available"|"failed", "error"?: code, "sha256"?, "task"?}.
  nlohmann::json list() const;
  // One model version: manifest, state, load time, engine statistics, model card.
  Result<nlohmann::json> describe(const std::string& name, const std::optional<std::string>& version) const;
  // Loads a version (the newest in the directory when none is given); loading a loaded version is a
  // no-op. not_found, model_manifest_invalid, model_integrity_failed, key release errors, engine errors.
  Result<std::shared_ptr<const LoadedModel>> load(const std::string& name, const std::optional<std::string>& version);
  // Unloads one version, or every version of the model. not_found when none is loaded. Requests in
  // flight finish on the model they started with.
  Status unload(const std::string& name, const std::optional<std::string>& version);
  // Loads every model in the directory (newest version of each); failures are logged and listed.
  void load_all();

  // A loaded model: that version, or the most recently loaded version of the name.
  std::shared_ptr<const LoadedModel> get(const std::string& name, const std::optional<std::string>& version) const;
  std::vector<std::shared_ptr<const LoadedModel>> loaded() const;
  // Versions of a model in the directory, oldest first (empty when the model is unknown).
  std::vector<std::string> versions(const std::string& name) const;
  const RegistryOptions& options() const { return options_; }

 private:
  Result<Sensitive<crypto::Bytes>> model_key(const std::string& name, std::uint64_t version);
  // Model directories in the registry (safe names only), sorted.
  std::vector<std::string> model_names() const;

  RegistryOptions options_;
  KeySource keys_;
  struct Metrics;
  std::unique_ptr<Metrics> metrics_;
  std::shared_ptr<BatcherMetrics> batcher_metrics_;
  mutable std::mutex mutex_;
  std::mutex load_mutex_;  // one load at a time (loading is CPU- and memory-heavy)
  std::map<std::string, std::map<std::string, std::shared_ptr<const LoadedModel>>> loaded_;
  std::map<std::string, std::string> failures_;  // "name:version" → error code
  std::map<std::pair<std::string, std::uint64_t>, Sensitive<crypto::Bytes>> key_cache_;
};

}  // namespace cloister::infer

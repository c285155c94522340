#pragma once
// A model's manifest (docs/infer.md §3): what the model is, what it takes and gives, how an image
// becomes its input and its output becomes findings. It is bound to the model by the model's SHA-256
// and, in a sealed model, the manifest's own SHA-256 is authenticated with the model (sealed_model.h),
// so an operator cannot relabel a model or change its preprocessing.

#include "cloister/core/error.h"
#include "cloister/engine/session.h"
#include "cloister/imaging/preprocess.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cloister::infer {

enum class Task { classification, segmentation_2d, segmentation_3d };
std::string_view task_name(Task task);  // "classification", "segmentation-2d", "segmentation-3d"

enum class Activation { softmax, sigmoid, none, argmax };

struct ManifestTensor {
  std::string name;
  engine::DataType dtype = engine::DataType::float32;
  std::vector<std::int64_t> shape;  // -1: dynamic
};

struct ModelManifest {
  std::string name;     // 1-64 of [a-z0-9._-], starting with a letter or digit
  std::string version;  // 1-32 of [A-Za-z0-9._-]
  std::string sha256;   // lower-case hex of the ONNX bytes
  Task task = Task::classification;
  std::string description;
  std::string intended_use;
  std::string model_card;  // file name beside the manifest ("" when none)
  std::vector<ManifestTensor> inputs;
  std::vector<ManifestTensor> outputs;
  std::vector<std::string> labels;
  imaging::Preprocessing preprocessing;
  Activation activation = Activation::softmax;
  std::size_t max_batch_size = 1;
  nlohmann::json document;  // the manifest as read (what describe shows)
};

// Parses and validates a manifest document (model_manifest_invalid naming the member). Unknown
// members are refused, so a typo cannot silently change how images are read.
Result<ModelManifest> parse_manifest(const nlohmann::json& document);
Result<ModelManifest> parse_manifest_text(std::string_view text);

// Checks the manifest against the loaded model: the same inputs and outputs (names, types, ranks,
// static dimensions), the task's shapes (classification [N, K] with K labels; segmentation-2d
// input [N, C, H, W] and output [N, K, H', W'] with K labels (K == 1: a binary mask with labels
// [background, foreground]); segmentation-3d the same with D). model_manifest_invalid otherwise.
Status check_against_model(const ModelManifest& manifest, const engine::Session& session);

}  // namespace cloister::infer

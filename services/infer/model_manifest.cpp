#include "model_manifest.h"

#include "oip_codec.h"

#include <algorithm>
#include <set>

namespace cloister::infer {

namespace {

Error invalid(const std::string& detail) { return Error{ErrorCode::model_manifest_invalid, "manifest: " + detail}; }

bool valid_name(std::string_view name, std::size_t max, bool lower_only) {
  if (name.empty() || name.size() > max) return false;
  if (!std::isalnum(static_cast<unsigned char>(name.front()))) return false;
  return std::all_of(name.begin(), name.end(), [lower_only](char c) {
    const auto u = static_cast<unsigned char>(c);
    if (lower_only && std::isupper(u)) return false;
    return std::isalnum(u) || c == '.' || c == '_' || c == '-';
  });
}

bool is_hex64(std::string_view text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

Result<std::vector<ManifestTensor>> parse_tensors(const nlohmann::json& list, const std::string& member) {
  if (!list.is_array() || list.empty() || list.size() > 64) {
    return std::unexpected(invalid("'" + member + "' must be a non-empty list (at most 64)"));
  }
  std::vector<ManifestTensor> tensors;
  std::set<std::string> names;
  for (const auto& item : list) {
    if (!item.is_object() || !item.contains("name") || !item["name"].is_string() || !item.contains("datatype") ||
        !item["datatype"].is_string() || !item.contains("shape") || !item["shape"].is_array() || item.size() != 3) {
      return std::unexpected(invalid("each of '" + member + "' is {\"name\", \"datatype\", \"shape\"}"));
    }
    ManifestTensor tensor;
    tensor.name = item["name"].get<std::string>();
    if (tensor.name.empty() || tensor.name.size() > 256 || !names.insert(tensor.name).second) {
      return std::unexpected(invalid("'" + member + "' names must be unique, 1-256 characters"));
    }
    auto dtype = datatype_from_oip(item["datatype"].get<std::string>());
    if (!dtype) return std::unexpected(invalid("'" + member + "': " + dtype.error().detail));
    tensor.dtype = *dtype;
    if (item["shape"].size() > 8) return std::unexpected(invalid("'" + member + "' shapes have at most 8 dimensions"));
    for (const auto& dimension : item["shape"]) {
      if (!dimension.is_number_integer() || dimension.get<std::int64_t>() < -1 || dimension.get<std::int64_t>() == 0 ||
          dimension.get<std::int64_t>() > (std::int64_t{1} << 24)) {
        return std::unexpected(invalid("'" + member + "' dimensions are -1 (dynamic) or 1..2^24"));
      }
      tensor.shape.push_back(dimension.get<std::int64_t>());
    }
    tensors.push_back(std::move(tensor));
  }
  return tensors;
}

std::string string_member(const nlohmann::json& document, const char* name, std::size_t max, bool required,
                          Error* error) {
  if (!document.contains(name)) {
    if (required) *error = invalid(std::string("'") + name + "' is required");
    return {};
  }
  if (!document[name].is_string() || document[name].get_ref<const std::string&>().size() > max) {
    *error = invalid(std::string("'") + name + "' must be a string of at most " + std::to_string(max) + " characters");
    return {};
  }
  return document[name].get<std::string>();
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? "," : "") + std::to_string(shape[i]);
  return text + "]";
}

}  // namespace

std::string_view task_name(Task task) {
  switch (task) {
    case Task::classification: return "classification";
    case Task::segmentation_2d: return "segmentation-2d";
    case Task::segmentation_3d: return "segmentation-3d";
  }
  return "classification";
}

Result<ModelManifest> parse_manifest(const nlohmann::json& document) {
  if (!document.is_object()) return std::unexpected(invalid("the manifest must be a JSON object"));
  static const std::set<std::string> kMembers = {"name",       "version", "sha256",  "task",          "description",
                                                 "intended_use", "model_card", "inputs", "outputs", "labels",
                                                 "preprocessing", "postprocessing", "batching"};
  for (auto it = document.begin(); it != document.end(); ++it) {
    if (!kMembers.contains(it.key())) return std::unexpected(invalid("unknown member '" + it.key() + "'"));
  }
  ModelManifest manifest;
  Error error{ErrorCode::internal};
  manifest.name = string_member(document, "name", 64, true, &error);
  manifest.version = string_member(document, "version", 32, true, &error);
  manifest.sha256 = string_member(document, "sha256", 64, true, &error);
  auto task = string_member(document, "task", 32, true, &error);
  manifest.description = string_member(document, "description", 1000, false, &error);
  manifest.intended_use = string_member(document, "intended_use", 2000, true, &error);
  manifest.model_card = string_member(document, "model_card", 128, false, &error);
  if (error.code != ErrorCode::internal) return std::unexpected(error);
  if (!valid_name(manifest.name, 64, true)) {
    return std::unexpected(invalid("'name' is 1-64 of [a-z0-9._-], starting with a letter or digit"));
  }
  if (!valid_name(manifest.version, 32, false)) return std::unexpected(invalid("'version' is 1-32 of [A-Za-z0-9._-]"));
  if (!is_hex64(manifest.sha256)) return std::unexpected(invalid("'sha256' is 64 lower-case hex digits"));
  if (!manifest.model_card.empty() &&
      (manifest.model_card.find('/') != std::string::npos || !valid_name(manifest.model_card, 128, false))) {
    return std::unexpected(invalid("'model_card' is a file name beside the manifest"));
  }
  if (task == "classification") {
    manifest.task = Task::classification;
  } else if (task == "segmentation-2d") {
    manifest.task = Task::segmentation_2d;
  } else if (task == "segmentation-3d") {
    manifest.task = Task::segmentation_3d;
  } else {
    return std::unexpected(invalid("'task' is classification, segmentation-2d or segmentation-3d"));
  }
  auto inputs = parse_tensors(document.value("inputs", nlohmann::json()), "inputs");
  if (!inputs) return std::unexpected(inputs.error());
  manifest.inputs = std::move(*inputs);
  auto outputs = parse_tensors(document.value("outputs", nlohmann::json()), "outputs");
  if (!outputs) return std::unexpected(outputs.error());
  manifest.outputs = std::move(*outputs);

  const auto& labels = document.value("labels", nlohmann::json());
  if (!labels.is_array() || labels.empty() || labels.size() > 65536) {
    return std::unexpected(invalid("'labels' must be a list of 1-65536 names"));
  }
  std::set<std::string> seen;
  for (const auto& label : labels) {
    if (!label.is_string() || label.get_ref<const std::string&>().empty() ||
        label.get_ref<const std::string&>().size() > 128 || !seen.insert(label.get<std::string>()).second) {
      return std::unexpected(invalid("'labels' are unique strings of 1-128 characters"));
    }
    manifest.labels.push_back(label.get<std::string>());
  }

  auto preprocessing = imaging::preprocessing_from_json(document.value("preprocessing", nlohmann::json::object()));
  if (!preprocessing) return std::unexpected(invalid(preprocessing.error().detail));
  manifest.preprocessing = std::move(*preprocessing);

  const auto& post = document.value("postprocessing", nlohmann::json::object());
  if (!post.is_object() || (post.size() > 1) || (post.size() == 1 && !post.contains("activation"))) {
    return std::unexpected(invalid("'postprocessing' is {\"activation\": ...}"));
  }
  const bool segmentation = manifest.task != Task::classification;
  const std::string activation = post.contains("activation") && post["activation"].is_string()
                                     ? post["activation"].get<std::string>()
                                     : (segmentation ? "argmax" : "softmax");
  if (segmentation) {
    if (activation != "argmax") return std::unexpected(invalid("segmentation models use \"activation\": \"argmax\""));
    manifest.activation = Activation::argmax;
  } else if (activation == "softmax") {
    manifest.activation = Activation::softmax;
  } else if (activation == "sigmoid") {
    manifest.activation = Activation::sigmoid;
  } else if (activation == "none") {
    manifest.activation = Activation::none;
  } else {
    return std::unexpected(invalid("classification activation is softmax, sigmoid or none"));
  }

  const auto& batching = document.value("batching", nlohmann::json::object());
  if (!batching.is_object() || batching.size() > 1 || (batching.size() == 1 && !batching.contains("max_batch_size"))) {
    return std::unexpected(invalid("'batching' is {\"max_batch_size\": 1..64}"));
  }
  if (batching.contains("max_batch_size")) {
    if (!batching["max_batch_size"].is_number_integer() || batching["max_batch_size"].get<std::int64_t>() < 1 ||
        batching["max_batch_size"].get<std::int64_t>() > 64) {
      return std::unexpected(invalid("'batching.max_batch_size' is 1..64"));
    }
    manifest.max_batch_size = batching["max_batch_size"].get<std::size_t>();
  }

  // The image path (diagnose) needs one image input of rank 4 (2D) or 5 (3D) and one score output.
  const std::size_t rank = manifest.task == Task::segmentation_3d ? 5 : 4;
  if (manifest.inputs.size() != 1 || manifest.inputs[0].shape.size() != rank ||
      manifest.inputs[0].dtype != engine::DataType::float32) {
    return std::unexpected(invalid("an image model has one FP32 input of rank " + std::to_string(rank)));
  }
  for (std::size_t i = 1; i < rank; ++i) {
    if (manifest.inputs[0].shape[i] <= 0) return std::unexpected(invalid("the input's non-batch dimensions are static"));
  }
  const auto& out = manifest.outputs[0];
  if (out.dtype != engine::DataType::float32) return std::unexpected(invalid("the first output is FP32 scores"));
  if (!segmentation) {
    if (out.shape.size() != 2 || out.shape[1] <= 0) return std::unexpected(invalid("a classifier's output is [N, K]"));
    if (static_cast<std::size_t>(out.shape[1]) != manifest.labels.size()) {
      return std::unexpected(invalid("a classifier has one label per output score"));
    }
  } else {
    if (out.shape.size() != rank || out.shape[1] <= 0) {
      return std::unexpected(invalid("a segmenter's output is [N, K, ...] of the input's rank"));
    }
    const auto k = static_cast<std::size_t>(out.shape[1]);
    if (k > 255) return std::unexpected(invalid("a segmenter has at most 255 labels (masks are 8-bit)"));
    if (manifest.labels.size() != (k == 1 ? 2 : k)) {
      return std::unexpected(invalid("a segmenter has one label per output channel (two for a single channel)"));
    }
  }
  if (manifest.inputs[0].shape[0] > 0 && manifest.max_batch_size > static_cast<std::size_t>(manifest.inputs[0].shape[0])) {
    manifest.max_batch_size = static_cast<std::size_t>(manifest.inputs[0].shape[0]);
  }
  manifest.document = document;
  return manifest;
}

Result<ModelManifest> parse_manifest_text(std::string_view text) {
  auto document = nlohmann::json::parse(text, nullptr, false);
  if (document.is_discarded()) return std::unexpected(invalid("not valid JSON"));
  return parse_manifest(document);
}

Status check_against_model(const ModelManifest& manifest, const engine::Session& session) {
  auto compare = [](const std::vector<ManifestTensor>& declared, const std::vector<engine::TensorInfo>& actual,
                    const std::string& what) -> Status {
    if (declared.size() != actual.size()) {
      return std::unexpected(invalid("the model has " + std::to_string(actual.size()) + " " + what + ", the manifest " +
                                     std::to_string(declared.size())));
    }
    for (std::size_t i = 0; i < declared.size(); ++i) {
      const auto& d = declared[i];
      const auto& a = actual[i];
      bool same = d.name == a.name && d.dtype == a.dtype && d.shape.size() == a.shape.size();
      for (std::size_t j = 0; same && j < d.shape.size(); ++j) {
        // A dimension the model fixes must be the manifest's; one the model leaves dynamic may be
        // fixed by the manifest (e.g. a model exported with dynamic spatial dimensions).
        if (a.shape[j] > 0 && d.shape[j] != a.shape[j]) same = false;
      }
      if (!same) {
        return std::unexpected(invalid(what + " " + std::to_string(i) + ": the model has '" + a.name + "' " +
                                       std::string(oip_datatype(a.dtype)) + " " + shape_text(a.shape) +
                                       ", the manifest '" + d.name + "' " + std::string(oip_datatype(d.dtype)) + " " +
                                       shape_text(d.shape)));
      }
    }
    return {};
  };
  if (auto status = compare(manifest.inputs, session.inputs(), "inputs"); !status) return status;
  return compare(manifest.outputs, session.outputs(), "outputs");
}

}  // namespace cloister::infer

#include "diagnose.h"

#include "cloister/crypto/base64.h"
#include "cloister/imaging/image.h"
#include "cloister/imaging/mask.h"
#include "cloister/imaging/upload.h"
#include "cloister/imaging/preprocess.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>
#include <cmath>

namespace cloister::infer {

namespace {

// Runs a cleanup when the scope ends. Declared right after the object it wipes, so it runs before
// that object is destroyed.
template <class F>
struct OnExit {
  F cleanup;
  ~OnExit() { cleanup(); }
};
template <class F>
OnExit(F) -> OnExit<F>;

void cleanse(engine::Tensor& tensor) {
  if (tensor.byte_size() > 0) OPENSSL_cleanse(tensor.bytes(), tensor.byte_size());
}

std::vector<double> activate(std::span<const float> scores, Activation activation) {
  std::vector<double> out(scores.begin(), scores.end());
  if (activation == Activation::softmax) {
    const double top = *std::max_element(out.begin(), out.end());
    double sum = 0;
    for (auto& value : out) sum += (value = std::exp(value - top));
    for (auto& value : out) value /= sum;
  } else if (activation == Activation::sigmoid) {
    for (auto& value : out) value = 1.0 / (1.0 + std::exp(-value));
  }
  return out;
}

double rounded(double value) { return std::round(value * 1e6) / 1e6; }

nlohmann::json ranked(const std::vector<std::string>& labels, const std::vector<double>& values, bool probabilities) {
  std::vector<std::size_t> order(values.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&values](std::size_t a, std::size_t b) { return values[a] > values[b]; });
  nlohmann::json findings = nlohmann::json::array();
  for (auto i : order) {
    findings.push_back({{"label", labels[i]}, {probabilities ? "probability" : "score", rounded(values[i])}});
  }
  return findings;
}

nlohmann::json classify(const ModelManifest& manifest, const engine::Tensor& scores) {
  const auto frames = static_cast<std::size_t>(scores.shape()[0]);
  const auto k = static_cast<std::size_t>(scores.shape()[1]);
  const auto values = scores.values<float>();
  const bool probabilities = manifest.activation != Activation::none;
  std::vector<double> best(k, -INFINITY);
  nlohmann::json per_frame = nlohmann::json::array();
  for (std::size_t f = 0; f < frames; ++f) {
    auto frame = activate(values.subspan(f * k, k), manifest.activation);
    for (std::size_t i = 0; i < k; ++i) best[i] = std::max(best[i], frame[i]);
    if (frames > 1) per_frame.push_back({{"frame", f}, {"findings", ranked(manifest.labels, frame, probabilities)}});
  }
  nlohmann::json out = {{"findings", ranked(manifest.labels, best, probabilities)}};
  if (frames > 1) {
    out["aggregation"] = "max over frames";
    out["frames"] = std::move(per_frame);
  }
  return out;
}

Result<nlohmann::json> segment(const ModelManifest& manifest, const engine::Tensor& scores, const imaging::Image& image) {
  auto mask = imaging::argmax_mask(scores);
  if (!mask) return std::unexpected(mask.error());
  // The mask at the source's size, so it overlays the image's pixels.
  auto full = imaging::resize_nearest(*mask, image.depth, image.height, image.width);
  const auto counts = imaging::label_counts(full);
  const double pixel_mm2 = image.row_spacing_mm * image.column_spacing_mm;
  nlohmann::json labels = nlohmann::json::array();
  nlohmann::json findings = nlohmann::json::array();
  for (std::size_t i = 0; i < manifest.labels.size(); ++i) {
    const auto voxels = i < counts.size() ? counts[i] : 0;
    nlohmann::json item = {{"index", i}, {"label", manifest.labels[i]}, {"voxels", voxels}};
    if (pixel_mm2 > 0) {
      if (image.depth == 1) {
        item["area_mm2"] = rounded(static_cast<double>(voxels) * pixel_mm2);
      } else if (image.slice_spacing_mm > 0) {
        item["volume_ml"] = rounded(static_cast<double>(voxels) * pixel_mm2 * image.slice_spacing_mm / 1000.0);
      }
    }
    if (i > 0 && voxels > 0) findings.push_back(item);
    labels.push_back(std::move(item));
  }
  nlohmann::json encoded;
  if (full.depth == 1) {
    auto png = imaging::encode_png(full, 0);
    if (!png) return std::unexpected(png.error());
    encoded = {{"encoding", "png"}, {"width", full.width}, {"height", full.height},
               {"data", crypto::base64_encode(crypto::as_bytes(*png))}};
  } else {
    encoded = imaging::encode_rle(full);
  }
  if (!full.labels.empty()) OPENSSL_cleanse(full.labels.data(), full.labels.size());
  if (!mask->labels.empty()) OPENSSL_cleanse(mask->labels.data(), mask->labels.size());
  return nlohmann::json{{"findings", std::move(findings)},
                        {"segmentation", {{"labels", std::move(labels)}, {"mask", std::move(encoded)}}}};
}

}  // namespace

Result<nlohmann::json> diagnose(const LoadedModel& model, std::string_view content_type, std::string_view body,
                                std::chrono::steady_clock::time_point deadline) {
  const auto& manifest = model.manifest;
  auto image = imaging::decode_upload(content_type, body);
  if (!image) return std::unexpected(image.error());
  OnExit wipe_image{[&image] {
    if (!image->voxels.empty()) OPENSSL_cleanse(image->voxels.data(), image->voxels.size() * sizeof(float));
  }};
  auto input = imaging::make_input(*image, manifest.preprocessing, manifest.inputs[0].shape);
  if (!input) return std::unexpected(input.error());
  OnExit wipe_input{[&input] { cleanse(*input); }};
  std::vector<engine::NamedTensor> inputs;
  inputs.push_back({manifest.inputs[0].name, *input});  // a copy the batcher wipes once run
  auto outputs = model.batcher->submit(std::move(inputs), deadline);
  if (!outputs) return std::unexpected(outputs.error());
  OnExit wipe_outputs{[&outputs] {
    for (auto& output : *outputs) cleanse(output.tensor);
  }};
  const auto& scores = outputs->front().tensor;

  nlohmann::json result = {
      {"model", {{"name", manifest.name}, {"version", manifest.version}, {"sha256", manifest.sha256},
                 {"task", task_name(manifest.task)}}},
      {"intended_use", manifest.intended_use},
      {"input", {{"format", image->source_format}, {"frames", image->depth}, {"rows", image->height},
                 {"columns", image->width}, {"channels", image->channels}}},
  };
  if (!image->modality.empty()) result["input"]["modality"] = image->modality;
  if (manifest.task == Task::classification) {
    if (scores.rank() != 2) return fail(ErrorCode::engine_execution_failed, "the classifier's output is not [N, K]");
    result.update(classify(manifest, scores));
  } else {
    auto segmented = segment(manifest, scores, *image);
    if (!segmented) return std::unexpected(segmented.error());
    result.update(*segmented);
  }
  return result;
}

}  // namespace cloister::infer

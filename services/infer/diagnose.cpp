#include "diagnose.h"

#include "cloister/crypto/base64.h"
#include "cloister/imaging/image.h"
#include "cloister/imaging/mask.h"
#include "cloister/imaging/preprocess.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>
#include <cmath>

namespace cloister::infer {

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

std::string media_type(std::string_view content_type) { return lower(trim(content_type.substr(0, content_type.find(';')))); }

// A parameter of a Content-Type value (quoted or not), "" when absent.
std::string parameter(std::string_view content_type, std::string_view name) {
  std::size_t position = content_type.find(';');
  while (position != std::string_view::npos) {
    auto rest = content_type.substr(position + 1);
    auto next = rest.find(';');
    auto item = trim(rest.substr(0, next));
    auto equals = item.find('=');
    if (equals != std::string_view::npos && lower(trim(item.substr(0, equals))) == name) {
      auto value = trim(item.substr(equals + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
      return std::string(value);
    }
    position = next == std::string_view::npos ? next : position + 1 + next;
  }
  return {};
}

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

Result<imaging::Image> decode_body(std::string_view content_type, std::string_view body) {
  const auto type = media_type(content_type);
  auto bytes = std::as_bytes(std::span(body.data(), body.size()));
  if (type.rfind("multipart/", 0) == 0) {
    auto parts = split_multipart(content_type, body);
    if (!parts) return std::unexpected(parts.error());
    if (parts->empty()) return fail(ErrorCode::bad_request, "the multipart body has no parts");
    std::vector<std::span<const std::byte>> objects;
    for (const auto& part : *parts) {
      const auto part_type = media_type(part.content_type);
      if (!part_type.empty() && part_type != "application/dicom" && part_type != "application/octet-stream") {
        return fail(ErrorCode::unsupported_media_type, "a series is made of application/dicom parts, not " + part_type);
      }
      objects.push_back(std::as_bytes(std::span(part.body.data(), part.body.size())));
    }
    if (objects.size() == 1) return imaging::decode_dicom(objects.front());
    return imaging::decode_dicom_series(objects);
  }
  if (type == "application/dicom") return imaging::decode_dicom(bytes);
  if (type == "image/png") return imaging::decode_png(bytes);
  if (type == "image/jpeg") return imaging::decode_jpeg(bytes);
  if (type == "application/octet-stream" || type.empty()) return imaging::decode(bytes);
  return fail(ErrorCode::unsupported_media_type,
              "diagnose takes application/dicom, a multipart DICOM series, image/png or image/jpeg, not " + type);
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

Result<std::vector<BodyPart>> split_multipart(std::string_view content_type, std::string_view body,
                                              std::size_t max_parts) {
  const auto boundary = parameter(content_type, "boundary");
  if (boundary.empty() || boundary.size() > 70) return fail(ErrorCode::bad_request, "multipart: no valid boundary parameter");
  const std::string delimiter = "--" + boundary;
  std::vector<BodyPart> parts;
  auto position = body.find(delimiter);
  if (position == std::string_view::npos) return fail(ErrorCode::bad_request, "multipart: the first boundary is missing");
  while (true) {
    position += delimiter.size();
    if (body.substr(position, 2) == "--") return parts;  // the close delimiter
    // The rest of the boundary line (transport padding), then CRLF.
    auto line_end = body.find("\r\n", position);
    if (line_end == std::string_view::npos) return fail(ErrorCode::bad_request, "multipart: truncated boundary line");
    position = line_end + 2;
    auto headers_end = body.find("\r\n\r\n", position);
    std::string content_type_value;
    if (body.substr(position, 2) == "\r\n") {
      headers_end = position - 2;  // no headers
    } else if (headers_end == std::string_view::npos) {
      return fail(ErrorCode::bad_request, "multipart: truncated part headers");
    }
    for (auto headers = body.substr(position, headers_end + 2 - position); !headers.empty();) {
      auto end = headers.find("\r\n");
      auto line = headers.substr(0, end);
      headers = end == std::string_view::npos ? std::string_view() : headers.substr(end + 2);
      auto colon = line.find(':');
      if (colon != std::string_view::npos && lower(trim(line.substr(0, colon))) == "content-type") {
        content_type_value = std::string(trim(line.substr(colon + 1)));
      }
    }
    const auto content = headers_end + 4;
    auto next = body.find("\r\n" + delimiter, content);
    if (next == std::string_view::npos) return fail(ErrorCode::bad_request, "multipart: a part has no closing boundary");
    if (parts.size() == max_parts) {
      return fail(ErrorCode::invalid_argument, "multipart: more than " + std::to_string(max_parts) + " parts");
    }
    parts.push_back({content_type_value, body.substr(content, next - content)});
    position = next + 2;
  }
}

Result<nlohmann::json> diagnose(const LoadedModel& model, std::string_view content_type, std::string_view body,
                                std::chrono::steady_clock::time_point deadline) {
  const auto& manifest = model.manifest;
  auto image = decode_body(content_type, body);
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

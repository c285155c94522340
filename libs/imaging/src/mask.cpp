// Label masks: argmax of segmentation scores, nearest resize, PNG and run-length serialization.

#include "cloister/imaging/mask.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "png_codec.h"

namespace cloister::imaging {
namespace {

using nlohmann::json;

// Pixel-centre nearest neighbour, as make_input's "nearest".
std::vector<std::int64_t> nearest_axis(std::int64_t in, std::int64_t out) {
  std::vector<std::int64_t> map(static_cast<std::size_t>(std::max<std::int64_t>(out, 0)));
  const double scale = static_cast<double>(in) / static_cast<double>(out);
  for (std::int64_t o = 0; o < out; ++o) {
    map[static_cast<std::size_t>(o)] =
        std::min(static_cast<std::int64_t>(std::floor((static_cast<double>(o) + 0.5) * scale)), in - 1);
  }
  return map;
}

std::unexpected<Error> rle_invalid(std::string_view why) {
  return fail(ErrorCode::invalid_argument, fmt::format("mask RLE: {}", why));
}

}  // namespace

Result<Mask> argmax_mask(const engine::Tensor& scores) {
  if (scores.dtype() != engine::DataType::float32) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("segmentation output: expected float32, got {}", engine::data_type_name(scores.dtype())));
  }
  const engine::Shape& shape = scores.shape();
  if (shape.size() != 4 && shape.size() != 5) {
    return fail(ErrorCode::invalid_argument, fmt::format("segmentation output {} is neither [N,K,H,W] nor [1,K,D,H,W]",
                                                         engine::shape_to_string(shape)));
  }
  if (std::any_of(shape.begin(), shape.end(), [](std::int64_t d) { return d <= 0; })) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("segmentation output {} has an empty dimension", engine::shape_to_string(shape)));
  }
  if (shape.size() == 5 && shape[0] != 1) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("segmentation output {}: a 3D output must have N = 1", engine::shape_to_string(shape)));
  }
  const std::int64_t labels = shape[1];
  if (labels > 256) {
    return fail(ErrorCode::invalid_argument, fmt::format("segmentation output has {} labels (at most 256)", labels));
  }
  Mask mask;
  std::int64_t outer = 0;
  if (shape.size() == 4) {
    mask.depth = shape[0];
    mask.height = shape[2];
    mask.width = shape[3];
    outer = shape[0];
  } else {
    mask.depth = shape[2];
    mask.height = shape[3];
    mask.width = shape[4];
    outer = 1;
  }
  const std::int64_t plane = mask.voxel_count() / outer;
  mask.labels.assign(static_cast<std::size_t>(mask.voxel_count()), 0);
  const float* s = scores.data<float>();
  for (std::int64_t n = 0; n < outer; ++n) {
    const float* base = s + n * labels * plane;
    std::uint8_t* out = mask.labels.data() + n * plane;
    if (labels == 1) {
      for (std::int64_t i = 0; i < plane; ++i) out[i] = base[i] > 0.0f ? 1 : 0;
      continue;
    }
    for (std::int64_t i = 0; i < plane; ++i) {
      float best = base[i];
      std::uint8_t best_label = 0;
      for (std::int64_t k = 1; k < labels; ++k) {
        const float v = base[k * plane + i];
        if (v > best || (std::isnan(best) && !std::isnan(v))) {
          best = v;
          best_label = static_cast<std::uint8_t>(k);
        }
      }
      out[i] = best_label;
    }
  }
  return mask;
}

Mask resize_nearest(const Mask& mask, std::int64_t depth, std::int64_t height, std::int64_t width) {
  Mask out;
  out.depth = std::max<std::int64_t>(depth, 0);
  out.height = std::max<std::int64_t>(height, 0);
  out.width = std::max<std::int64_t>(width, 0);
  out.labels.assign(static_cast<std::size_t>(out.voxel_count()), 0);
  if (out.voxel_count() == 0 || mask.voxel_count() == 0 ||
      static_cast<std::int64_t>(mask.labels.size()) != mask.voxel_count()) {
    return out;
  }
  const auto mz = nearest_axis(mask.depth, out.depth);
  const auto my = nearest_axis(mask.height, out.height);
  const auto mx = nearest_axis(mask.width, out.width);
  std::size_t i = 0;
  for (std::int64_t z : mz) {
    for (std::int64_t y : my) {
      const std::uint8_t* row = mask.labels.data() + (z * mask.height + y) * mask.width;
      for (std::int64_t x : mx) out.labels[i++] = row[x];
    }
  }
  return out;
}

Result<std::string> encode_png(const Mask& mask, std::int64_t slice) {
  if (mask.height <= 0 || mask.width <= 0 || mask.depth <= 0 || mask.height > 0x7FFFFFFF || mask.width > 0x7FFFFFFF ||
      static_cast<std::int64_t>(mask.labels.size()) != mask.voxel_count()) {
    return fail(ErrorCode::invalid_argument, "mask PNG: the mask is empty or malformed");
  }
  if (slice < 0 || slice >= mask.depth) return fail(ErrorCode::invalid_argument, "mask PNG: slice out of range");
  const std::int64_t plane = mask.height * mask.width;
  const auto first = mask.labels.begin() + slice * plane;
  const std::vector<std::uint16_t> samples(first, first + plane);
  return detail::write_png(static_cast<std::uint32_t>(mask.width), static_cast<std::uint32_t>(mask.height), 1, 8,
                           samples);
}

json encode_rle(const Mask& mask) {
  json runs = json::array();
  std::size_t i = 0;
  while (i < mask.labels.size()) {
    std::size_t j = i + 1;
    while (j < mask.labels.size() && mask.labels[j] == mask.labels[i]) ++j;
    runs.push_back(json::array({mask.labels[i], j - i}));
    i = j;
  }
  return json{{"encoding", "rle"}, {"shape", {mask.depth, mask.height, mask.width}}, {"runs", std::move(runs)}};
}

Result<Mask> decode_rle(const json& rle, std::int64_t max_voxels) {
  if (!rle.is_object()) return rle_invalid("expected an object");
  if (!rle.contains("encoding") || rle.at("encoding") != "rle") return rle_invalid(R"(encoding must be "rle")");
  if (!rle.contains("shape") || !rle.at("shape").is_array() || rle.at("shape").size() != 3) {
    return rle_invalid("shape must be [D, H, W]");
  }
  std::int64_t dims[3];
  std::int64_t total = 1;
  for (std::size_t k = 0; k < 3; ++k) {
    const json& d = rle.at("shape")[k];
    if (!d.is_number_integer() || d.get<std::int64_t>() < 0) return rle_invalid("shape values must be integers >= 0");
    dims[k] = d.get<std::int64_t>();
    if (dims[k] > 0 && total > max_voxels / dims[k]) return rle_invalid("shape exceeds the voxel limit");
    total *= dims[k];
  }
  if (total > max_voxels) return rle_invalid("shape exceeds the voxel limit");
  if (!rle.contains("runs") || !rle.at("runs").is_array()) return rle_invalid("runs must be an array");
  Mask mask;
  mask.depth = dims[0];
  mask.height = dims[1];
  mask.width = dims[2];
  mask.labels.reserve(static_cast<std::size_t>(total));
  for (const json& run : rle.at("runs")) {
    if (!run.is_array() || run.size() != 2 || !run[0].is_number_integer() || !run[1].is_number_integer()) {
      return rle_invalid("each run must be [label, length]");
    }
    const auto label = run[0].get<std::int64_t>();
    const auto length = run[1].get<std::int64_t>();
    if (label < 0 || label > 255) return rle_invalid("labels must be 0..255");
    if (length < 1) return rle_invalid("run lengths must be >= 1");
    if (length > total - static_cast<std::int64_t>(mask.labels.size())) {
      return rle_invalid(fmt::format("runs cover more than the {} voxels of the shape", total));
    }
    mask.labels.insert(mask.labels.end(), static_cast<std::size_t>(length), static_cast<std::uint8_t>(label));
  }
  if (static_cast<std::int64_t>(mask.labels.size()) != total) {
    return rle_invalid(fmt::format("runs cover {} of the {} voxels of the shape", mask.labels.size(), total));
  }
  return mask;
}

std::vector<std::int64_t> label_counts(const Mask& mask) {
  std::vector<std::int64_t> counts;
  for (std::uint8_t label : mask.labels) {
    if (label >= counts.size()) counts.resize(static_cast<std::size_t>(label) + 1, 0);
    ++counts[label];
  }
  return counts;
}

}  // namespace cloister::imaging

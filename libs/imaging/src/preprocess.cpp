// Preprocessing: intensity → [0,1], channel mapping, resize (align_corners=False), normalization.

#include "cloister/imaging/preprocess.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include <fmt/format.h>

namespace cloister::imaging {
namespace {

using nlohmann::json;

// The largest input tensor make_input builds (elements; 512 MiB of float32).
constexpr std::int64_t kMaxInputElements = 512LL * 1024 * 1024 / 4;

std::unexpected<Error> invalid_member(std::string_view member, std::string_view why) {
  return fail(ErrorCode::model_manifest_invalid, fmt::format("preprocessing.{}: {}", member, why));
}

bool finite_number(const json& value) { return value.is_number() && std::isfinite(value.get<double>()); }

Result<std::vector<float>> number_list(const json& value, std::string_view member, bool non_zero) {
  if (!value.is_array() || value.empty() || value.size() > 64) {
    return invalid_member(member, "expected an array of 1 to 64 numbers");
  }
  std::vector<float> numbers;
  for (const json& item : value) {
    if (!finite_number(item)) return invalid_member(member, "expected finite numbers");
    const double v = item.get<double>();
    if (std::abs(v) > std::numeric_limits<float>::max()) return invalid_member(member, "number out of range");
    if (non_zero && v == 0) return invalid_member(member, "values must not be zero");
    numbers.push_back(static_cast<float>(v));
  }
  return numbers;
}

// One axis of a resize: output index o reads (1 - weight) * in[lower] + weight * in[upper].
struct AxisMap {
  std::vector<std::int64_t> lower, upper;
  std::vector<float> weight;
};

// torch's align_corners=False source index: (o + 0.5) * in/out - 0.5, clamped at 0 for linear modes;
// nearest takes the source pixel whose centre is nearest (mode="nearest-exact"). Float arithmetic, as
// torch computes for float tensors.
AxisMap map_axis(std::int64_t in, std::int64_t out, bool linear) {
  AxisMap map;
  map.lower.resize(static_cast<std::size_t>(out));
  map.upper.resize(static_cast<std::size_t>(out));
  map.weight.assign(static_cast<std::size_t>(out), 0.0f);
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  for (std::int64_t o = 0; o < out; ++o) {
    const auto i = static_cast<std::size_t>(o);
    if (linear) {
      float source = scale * (static_cast<float>(o) + 0.5f) - 0.5f;
      if (source < 0) source = 0;
      const auto lower = std::min(static_cast<std::int64_t>(source), in - 1);
      map.lower[i] = lower;
      map.upper[i] = std::min(lower + 1, in - 1);
      map.weight[i] = map.upper[i] == lower ? 0.0f : source - static_cast<float>(lower);
    } else {
      const auto nearest = static_cast<std::int64_t>(std::floor((static_cast<float>(o) + 0.5f) * scale));
      map.lower[i] = map.upper[i] = std::min(nearest, in - 1);
    }
  }
  return map;
}

// Resizes one channel volume [d][h][w] → [D][H][W] (separable linear or nearest).
void resize_volume(const float* source, std::int64_t d, std::int64_t h, std::int64_t w, float* target, std::int64_t D,
                   std::int64_t H, std::int64_t W, bool linear) {
  const AxisMap mz = map_axis(d, D, linear);
  const AxisMap my = map_axis(h, H, linear);
  const AxisMap mx = map_axis(w, W, linear);
  // Pass 1: along x, [d][h][w] → [d][h][W]; pass 2: along y → [d][H][W]; pass 3: along z → [D][H][W].
  std::vector<float> along_x(static_cast<std::size_t>(d * h * W));
  for (std::int64_t row = 0; row < d * h; ++row) {
    const float* in = source + row * w;
    float* out = along_x.data() + row * W;
    for (std::int64_t x = 0; x < W; ++x) {
      const auto i = static_cast<std::size_t>(x);
      const float t = mx.weight[i];
      out[x] = t == 0 ? in[mx.lower[i]] : in[mx.lower[i]] * (1 - t) + in[mx.upper[i]] * t;
    }
  }
  std::vector<float> along_y(static_cast<std::size_t>(d * H * W));
  for (std::int64_t z = 0; z < d; ++z) {
    for (std::int64_t y = 0; y < H; ++y) {
      const auto i = static_cast<std::size_t>(y);
      const float t = my.weight[i];
      const float* a = along_x.data() + (z * h + my.lower[i]) * W;
      const float* b = along_x.data() + (z * h + my.upper[i]) * W;
      float* out = along_y.data() + (z * H + y) * W;
      for (std::int64_t x = 0; x < W; ++x) out[x] = t == 0 ? a[x] : a[x] * (1 - t) + b[x] * t;
    }
  }
  const std::int64_t plane = H * W;
  for (std::int64_t z = 0; z < D; ++z) {
    const auto i = static_cast<std::size_t>(z);
    const float t = mz.weight[i];
    const float* a = along_y.data() + mz.lower[i] * plane;
    const float* b = along_y.data() + mz.upper[i] * plane;
    float* out = target + z * plane;
    for (std::int64_t k = 0; k < plane; ++k) out[k] = t == 0 ? a[k] : a[k] * (1 - t) + b[k] * t;
  }
}

// DICOM linear VOI function (PS3.3 C.11.2.1.2.1) scaled to [0, 1].
float window_value(double v, double centre, double width) {
  if (width <= 1) return v <= centre - 0.5 ? 0.0f : 1.0f;
  return static_cast<float>(std::clamp((v - (centre - 0.5)) / (width - 1) + 0.5, 0.0, 1.0));
}

}  // namespace

Result<Preprocessing> preprocessing_from_json(const json& value) {
  Preprocessing p;
  if (value.is_null()) return p;
  if (!value.is_object()) return fail(ErrorCode::model_manifest_invalid, "preprocessing: expected an object");
  for (const auto& [key, member] : value.items()) {
    if (key == "intensity") {
      if (member.is_string()) {
        const auto name = member.get<std::string>();
        if (name == "minmax") {
          p.intensity = Preprocessing::Intensity::minmax;
        } else if (name == "file_window") {
          p.intensity = Preprocessing::Intensity::file_window;
        } else {
          return invalid_member(key, R"(expected "minmax", "file_window" or {"window_center", "window_width"})");
        }
      } else if (member.is_object()) {
        for (const auto& [window_key, window_value_json] : member.items()) {
          if (window_key != "window_center" && window_key != "window_width") {
            return invalid_member("intensity." + window_key, "unknown member");
          }
          if (!finite_number(window_value_json)) return invalid_member("intensity." + window_key, "expected a number");
        }
        if (!member.contains("window_center") || !member.contains("window_width")) {
          return invalid_member(key, "a fixed window needs window_center and window_width");
        }
        p.intensity = Preprocessing::Intensity::fixed_window;
        p.window_center = member.at("window_center").get<double>();
        p.window_width = member.at("window_width").get<double>();
        if (p.window_width < 1) return invalid_member("intensity.window_width", "must be >= 1");
      } else {
        return invalid_member(key, R"(expected "minmax", "file_window" or {"window_center", "window_width"})");
      }
    } else if (key == "invert_monochrome1") {
      if (!member.is_boolean()) return invalid_member(key, "expected a boolean");
      p.invert_monochrome1 = member.get<bool>();
    } else if (key == "interpolation") {
      if (member == "linear") {
        p.linear = true;
      } else if (member == "nearest") {
        p.linear = false;
      } else {
        return invalid_member(key, R"(expected "linear" or "nearest")");
      }
    } else if (key == "normalize") {
      if (!member.is_object()) return invalid_member(key, R"(expected {"mean": [...], "std": [...]})");
      for (const auto& [normalize_key, ignored] : member.items()) {
        if (normalize_key != "mean" && normalize_key != "std") {
          return invalid_member("normalize." + normalize_key, "unknown member");
        }
      }
      if (!member.contains("mean") || !member.contains("std")) {
        return invalid_member(key, "needs both mean and std");
      }
      auto mean = number_list(member.at("mean"), "normalize.mean", false);
      if (!mean) return std::unexpected(mean.error());
      auto std_dev = number_list(member.at("std"), "normalize.std", true);
      if (!std_dev) return std::unexpected(std_dev.error());
      p.mean = std::move(*mean);
      p.std = std::move(*std_dev);
    } else {
      return invalid_member(key, "unknown member");
    }
  }
  return p;
}

json to_json(const Preprocessing& p) {
  json out = json::object();
  switch (p.intensity) {
    case Preprocessing::Intensity::minmax: out["intensity"] = "minmax"; break;
    case Preprocessing::Intensity::file_window: out["intensity"] = "file_window"; break;
    case Preprocessing::Intensity::fixed_window:
      out["intensity"] = {{"window_center", p.window_center}, {"window_width", p.window_width}};
      break;
  }
  out["invert_monochrome1"] = p.invert_monochrome1;
  out["interpolation"] = p.linear ? "linear" : "nearest";
  if (!p.mean.empty() || !p.std.empty()) out["normalize"] = {{"mean", p.mean}, {"std", p.std}};
  return out;
}

Result<engine::Tensor> make_input(const Image& image, const Preprocessing& p, std::span<const std::int64_t> shape) {
  if (image.depth <= 0 || image.height <= 0 || image.width <= 0 || image.channels <= 0 ||
      static_cast<std::int64_t>(image.voxels.size()) != image.voxel_count()) {
    return fail(ErrorCode::invalid_argument, "preprocessing: the image is empty or malformed");
  }
  const bool volume = shape.size() == 5;
  if (shape.size() != 4 && !volume) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("preprocessing: the model input {} is neither [N,C,H,W] nor [N,C,D,H,W]",
                            engine::shape_to_string(shape)));
  }
  for (std::size_t i = 1; i < shape.size(); ++i) {
    if (shape[i] <= 0) {
      return fail(ErrorCode::invalid_argument,
                  fmt::format("preprocessing: the model input {} needs fixed positive C/D/H/W dimensions",
                              engine::shape_to_string(shape)));
    }
  }
  const std::int64_t C = shape[1];
  const std::int64_t D = volume ? shape[2] : 1;
  const std::int64_t H = shape[shape.size() - 2];
  const std::int64_t W = shape[shape.size() - 1];
  const std::int64_t N = volume ? 1 : image.depth;
  const std::int64_t K = image.channels;
  if (!(K == C || K == 1 || (K == 3 && C == 1))) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("preprocessing: the model takes {} channel(s), the image has {}", C, K));
  }
  for (const auto* list : {&p.mean, &p.std}) {
    if (!list->empty() && list->size() != 1 && static_cast<std::int64_t>(list->size()) != C) {
      return fail(ErrorCode::invalid_argument,
                  fmt::format("preprocessing: normalize has {} values for {} channel(s)", list->size(), C));
    }
  }
  if (std::any_of(p.std.begin(), p.std.end(), [](float s) { return s == 0 || !std::isfinite(s); })) {
    return fail(ErrorCode::invalid_argument, "preprocessing: normalize.std must be finite and non-zero");
  }
  const engine::Shape out_shape = volume ? engine::Shape{1, C, D, H, W} : engine::Shape{N, C, H, W};
  const std::int64_t elements = engine::shape_element_count(out_shape);
  if (elements < 0 || elements > kMaxInputElements || image.voxel_count() > kMaxInputElements) {
    return fail(ErrorCode::invalid_argument, "preprocessing: the model input would be too large");
  }

  // 1. Intensity to [0, 1].
  const std::size_t count = image.voxels.size();
  std::vector<float> unit(count);
  bool window = false;
  double centre = 0, width = 0;
  // PNG and JPEG hold display values (already windowed by whoever rendered them), not modality
  // units: a window (fixed or from the file) becomes a scaling by the bit depth.
  const bool display_values = (image.source_format == "png" || image.source_format == "jpeg") &&
                              p.intensity != Preprocessing::Intensity::minmax;
  if (display_values) {
    const double full_scale = std::ldexp(1.0, std::clamp(image.bits_stored, 1, 16)) - 1.0;
    for (std::size_t i = 0; i < count; ++i) {
      const float v = image.voxels[i];
      unit[i] = std::isfinite(v) ? static_cast<float>(std::clamp(static_cast<double>(v) / full_scale, 0.0, 1.0)) : 0.0f;
    }
  } else if (p.intensity == Preprocessing::Intensity::fixed_window) {
    window = true;
    centre = p.window_center;
    width = p.window_width;
  } else if (p.intensity == Preprocessing::Intensity::file_window && image.window_center && image.window_width) {
    window = true;
    centre = *image.window_center;
    width = *image.window_width;
  }
  if (display_values) {
    // scaled above
  } else if (window) {
    for (std::size_t i = 0; i < count; ++i) {
      const float v = image.voxels[i];
      unit[i] = std::isfinite(v) ? window_value(v, centre, width) : 0.0f;
    }
  } else {
    float lo = std::numeric_limits<float>::infinity();
    float hi = -std::numeric_limits<float>::infinity();
    for (float v : image.voxels) {
      if (!std::isfinite(v)) continue;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    const double range = static_cast<double>(hi) - static_cast<double>(lo);
    for (std::size_t i = 0; i < count; ++i) {
      const float v = image.voxels[i];
      unit[i] = (range > 0 && std::isfinite(v)) ? static_cast<float>((static_cast<double>(v) - lo) / range) : 0.0f;
    }
  }
  if (image.monochrome1 && p.invert_monochrome1) {
    for (float& v : unit) v = 1.0f - v;
  }

  // 2. Channels, into planes [c][z][y][x]. A gray image for a C-channel model is resized once and
  // replicated after (the same values as replicating first).
  const std::int64_t planes = (K == 1) ? 1 : C;
  const std::int64_t frame = image.height * image.width;
  std::vector<float> planar(static_cast<std::size_t>(planes * image.depth * frame));
  for (std::int64_t z = 0; z < image.depth; ++z) {
    for (std::int64_t q = 0; q < frame; ++q) {
      const float* voxel = unit.data() + (z * frame + q) * K;
      for (std::int64_t c = 0; c < planes; ++c) {
        float v;
        if (K == 3 && C == 1) {
          v = 0.299f * voxel[0] + 0.587f * voxel[1] + 0.114f * voxel[2];
        } else {
          v = voxel[K == 1 ? 0 : c];
        }
        planar[static_cast<std::size_t>((c * image.depth + z) * frame + q)] = v;
      }
    }
  }

  // 3. Resize into the tensor: [N=depth][C][H][W] (2D) or [1][C][D][H][W] (3D).
  engine::Tensor tensor(engine::DataType::float32, out_shape);
  float* out = tensor.data<float>();
  const std::int64_t out_plane = H * W;
  for (std::int64_t c = 0; c < planes; ++c) {
    const float* channel = planar.data() + c * image.depth * frame;
    if (volume) {
      resize_volume(channel, image.depth, image.height, image.width, out + c * D * out_plane, D, H, W, p.linear);
    } else {
      for (std::int64_t z = 0; z < image.depth; ++z) {
        resize_volume(channel + z * frame, 1, image.height, image.width, out + (z * C + c) * out_plane, 1, H, W,
                      p.linear);
      }
    }
  }
  if (planes == 1 && C > 1) {
    const std::int64_t block = volume ? D * out_plane : out_plane;
    for (std::int64_t n = 0; n < N; ++n) {
      const float* first = out + n * C * block;
      for (std::int64_t c = 1; c < C; ++c) std::copy(first, first + block, out + (n * C + c) * block);
    }
  }

  // 4. Normalize.
  if (!p.mean.empty() || !p.std.empty()) {
    const std::int64_t block = volume ? D * out_plane : out_plane;
    for (std::int64_t n = 0; n < N; ++n) {
      for (std::int64_t c = 0; c < C; ++c) {
        const float mean = p.mean.empty() ? 0.0f : p.mean[p.mean.size() == 1 ? 0 : static_cast<std::size_t>(c)];
        const float sd = p.std.empty() ? 1.0f : p.std[p.std.size() == 1 ? 0 : static_cast<std::size_t>(c)];
        float* values = out + (n * C + c) * block;
        for (std::int64_t k = 0; k < block; ++k) values[k] = (values[k] - mean) / sd;
      }
    }
  }
  return tensor;
}

}  // namespace cloister::imaging

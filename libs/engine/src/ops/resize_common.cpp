#include "ops/resize_common.h"

#include <algorithm>
#include <cmath>

namespace cloister::engine {

namespace {

struct Tap {
  std::int64_t index;  // input index (clamped)
  double weight;
};

struct DimensionTaps {
  std::vector<std::vector<Tap>> taps;  // per output index
  std::vector<bool> outside;           // tf_crop_and_resize: extrapolate
  bool identity = false;
};

std::vector<double> cubic_coefficients(double ratio, double a) {
  const double r1 = ratio + 1, r2 = 1 - ratio, r3 = 2 - ratio;
  return {((a * r1 - 5 * a) * r1 + 8 * a) * r1 - 4 * a, ((a + 2) * ratio - (a + 3)) * ratio * ratio + 1,
          ((a + 2) * r2 - (a + 3)) * r2 * r2 + 1, ((a * r3 - 5 * a) * r3 + 8 * a) * r3 - 4 * a};
}

DimensionTaps dimension_taps(const ResizeSpec& spec, std::size_t dim, std::int64_t in, std::int64_t out) {
  DimensionTaps result;
  const double scale = spec.scales[dim];
  const double out_width = scale * static_cast<double>(in);
  const auto& mode = spec.coordinate_mode;
  const std::size_t rank = spec.scales.size();
  for (std::int64_t o = 0; o < out; ++o) {
    const auto x = static_cast<double>(o);
    double original;
    bool outside = false;
    if (mode == "align_corners") {
      original = out_width == 1 ? 0.0 : x * static_cast<double>(in - 1) / (out_width - 1);
    } else if (mode == "asymmetric") {
      original = x / scale;
    } else if (mode == "tf_crop_and_resize") {
      const double start = spec.roi[dim], end = spec.roi[dim + rank];
      original = out_width == 1 ? (end - start) * static_cast<double>(in - 1) / 2
                                : x * (end - start) * static_cast<double>(in - 1) / (out_width - 1);
      original += start * static_cast<double>(in - 1);
      outside = original < 0 || original > static_cast<double>(in - 1);
    } else if (mode == "tf_half_pixel_for_nn") {
      original = (x + 0.5) / scale;
    } else if (mode == "pytorch_half_pixel") {
      original = out_width == 1 ? -0.5 : (x + 0.5) / scale - 0.5;
    } else {
      original = (x + 0.5) / scale - 0.5;
    }
    const double floor_value = std::floor(original);
    const bool integer = floor_value == original;
    const auto base = static_cast<std::int64_t>(floor_value) - (integer ? 1 : 0);
    const double ratio = integer ? 1.0 : original - floor_value;
    std::vector<double> coefficients;
    std::int64_t first;
    if (spec.mode == "nearest") {
      bool upper;
      if (integer) upper = true;
      else if (spec.nearest_mode == "round_prefer_ceil") upper = ratio >= 0.5;
      else if (spec.nearest_mode == "floor") upper = false;
      else if (spec.nearest_mode == "ceil") upper = true;
      else upper = ratio > 0.5;
      coefficients = {upper ? 0.0 : 1.0, upper ? 1.0 : 0.0};
      first = base;
    } else if (spec.mode == "linear") {
      coefficients = {1 - ratio, ratio};
      first = base;
    } else {
      coefficients = cubic_coefficients(ratio, spec.cubic_coefficient);
      first = base - 1;
    }
    if (spec.exclude_outside) {
      double sum = 0;
      for (std::size_t k = 0; k < coefficients.size(); ++k) {
        const std::int64_t index = first + static_cast<std::int64_t>(k);
        if (index < 0 || index >= in) coefficients[k] = 0;
        sum += coefficients[k];
      }
      if (sum != 0) {
        for (auto& c : coefficients) c /= sum;
      }
    }
    std::vector<Tap> taps;
    for (std::size_t k = 0; k < coefficients.size(); ++k) {
      if (coefficients[k] == 0) continue;
      std::int64_t index = std::clamp<std::int64_t>(first + static_cast<std::int64_t>(k), 0, in - 1);
      taps.push_back({index, coefficients[k]});
    }
    result.taps.push_back(std::move(taps));
    result.outside.push_back(outside);
  }
  result.identity = in == out;
  for (std::int64_t o = 0; result.identity && o < out; ++o) {
    const auto& taps = result.taps[static_cast<std::size_t>(o)];
    result.identity = !result.outside[static_cast<std::size_t>(o)] && taps.size() == 1 && taps[0].index == o && taps[0].weight == 1.0;
  }
  return result;
}

}  // namespace

Result<std::unique_ptr<Kernel>> make_resize_kernel(NodeContext& context, const ValueInfo& x, ResizeSpec spec) {
  const Shape& in = x.shape;
  const std::size_t rank = in.size();
  if (spec.mode != "nearest" && spec.mode != "linear" && spec.mode != "cubic") return context.invalid("mode '" + spec.mode + "' is not valid");
  static const char* const coordinate_modes[] = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                                                 "tf_half_pixel_for_nn", "tf_crop_and_resize"};
  if (std::find(std::begin(coordinate_modes), std::end(coordinate_modes), spec.coordinate_mode) == std::end(coordinate_modes)) {
    return context.invalid("coordinate_transformation_mode '" + spec.coordinate_mode + "' is not valid");
  }
  Shape out(rank);
  if (!spec.sizes.empty()) {
    if (spec.sizes.size() != rank) return context.invalid("sizes needs one entry per dimension");
    spec.scales.assign(rank, 1.0);
    for (std::size_t i = 0; i < rank; ++i) {
      if (spec.sizes[i] < 0) return context.invalid("sizes must not be negative");
      out[i] = spec.sizes[i];
      spec.scales[i] = in[i] == 0 ? 1.0 : static_cast<double>(spec.sizes[i]) / static_cast<double>(in[i]);
    }
  } else {
    if (spec.scales.size() != rank) return context.invalid("scales needs one entry per dimension");
    for (std::size_t i = 0; i < rank; ++i) {
      if (!(spec.scales[i] > 0) || !(spec.scales[i] < 1e6)) return context.invalid("scales must be positive");
      const double size = static_cast<double>(in[i]) * spec.scales[i];
      if (!(size < 1e15)) return context.invalid("output is too large");
      out[i] = static_cast<std::int64_t>(size);
    }
  }
  if (spec.coordinate_mode == "tf_crop_and_resize" && spec.roi.size() != 2 * rank) return context.invalid("roi needs 2 entries per dimension");
  if (shape_element_count(out) < 0 || shape_element_count(out) > (std::int64_t{1} << 40)) return context.invalid("output is too large");
  const DataType type = x.dtype;
  if (!is_numeric(type)) return context.unsupported_type(type);
  if (spec.mode != "nearest" && !is_float(type)) return context.unsupported_type(type);
  auto taps = std::make_shared<std::vector<DimensionTaps>>();
  for (std::size_t i = 0; i < rank; ++i) taps->push_back(dimension_taps(spec, i, in[i], out[i]));
  const auto in_strides = strides_of(in);
  const float extrapolation = spec.extrapolation_value;
  Result<std::unique_ptr<Kernel>> kernel = context.unsupported_type(type);
  dispatch_type(type, [&]<class T>() {
    if constexpr (!std::is_same_v<T, bool>) {
      kernel = make_kernel({output(type, out)}, [=](const RunContext& run) -> Status {
        const T* src = run.in<T>(0);
        T* dst = run.out<T>(0);
        if (shape_element_count(out) == 0) return {};
        const std::size_t last = rank - 1;
        const std::int64_t rows = product(out, 0, last);
        const std::int64_t width = out[last];
        parallel_for(rows, width, [&](std::int64_t row) {
          // Combined taps of the outer dimensions: (offset, weight) pairs.
          std::vector<std::pair<std::int64_t, double>> combos{{0, 1.0}};
          bool outside = false;
          std::int64_t rest = row;
          std::vector<std::int64_t> coordinate(last);
          for (std::size_t d = last; d-- > 0;) {
            coordinate[d] = rest % out[d];
            rest /= out[d];
          }
          for (std::size_t d = 0; d < last; ++d) {
            const auto o = static_cast<std::size_t>(coordinate[d]);
            outside = outside || (*taps)[d].outside[o];
            std::vector<std::pair<std::int64_t, double>> next;
            for (const auto& [offset, weight] : combos) {
              for (const auto& tap : (*taps)[d].taps[o]) next.emplace_back(offset + tap.index * in_strides[d], weight * tap.weight);
            }
            combos = std::move(next);
          }
          T* line = dst + row * width;
          const auto& inner = (*taps)[last];
          for (std::int64_t o = 0; o < width; ++o) {
            const auto index = static_cast<std::size_t>(o);
            if (outside || inner.outside[index]) {
              line[o] = static_cast<T>(extrapolation);
              continue;
            }
            if constexpr (std::is_floating_point_v<T>) {
              double sum = 0;
              for (const auto& [offset, weight] : combos) {
                for (const auto& tap : inner.taps[index]) sum += weight * tap.weight * static_cast<double>(src[offset + tap.index]);
              }
              line[o] = static_cast<T>(sum);
            } else {
              line[o] = src[combos[0].first + inner.taps[index][0].index];
            }
          }
        });
        return {};
      });
    }
  });
  return kernel;
}

}  // namespace cloister::engine

// LayerNormalization (opset 17): normalises over axes [axis, rank); scale and optional B broadcast
// to the normalised shape; optional Mean and InvStdDev outputs.
#include "ops/common.h"
#include "ops/operators.h"

#include <cmath>

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_layer_normalization(NodeContext& context) {
  auto x = context.required_input(0);
  if (!x) return std::unexpected(x.error());
  auto scale = context.required_input(1);
  if (!scale) return std::unexpected(scale.error());
  const DataType type = (*x)->dtype;
  if (type != DataType::float32) return context.unsupported_type(type);
  const Shape& shape = (*x)->shape;
  auto axis_attribute = context.attribute_int("axis", -1);
  if (!axis_attribute) return std::unexpected(axis_attribute.error());
  auto axis = context.axis(*axis_attribute, shape.size());
  if (!axis) return std::unexpected(axis.error());
  auto epsilon_attribute = context.attribute_float("epsilon", 1e-5f);
  if (!epsilon_attribute) return std::unexpected(epsilon_attribute.error());
  const auto a = static_cast<std::size_t>(*axis);
  const Shape normalized(shape.begin() + static_cast<std::ptrdiff_t>(a), shape.end());
  // Scale and bias: broadcast (unidirectionally) to the normalised shape; indices precomputed.
  auto broadcast_index = [&](const Shape& s) -> Result<std::vector<std::int64_t>> {
    if (s.size() > normalized.size()) return context.invalid("scale/B rank exceeds the normalised rank");
    const std::size_t offset = normalized.size() - s.size();
    auto strides = strides_of(s);
    std::vector<std::int64_t> index(static_cast<std::size_t>(shape_element_count(normalized)));
    for (std::size_t i = 0; i < index.size(); ++i) {
      std::int64_t rest = static_cast<std::int64_t>(i), position = 0;
      for (std::size_t d = normalized.size(); d-- > 0;) {
        std::int64_t coordinate = rest % normalized[d];
        rest /= normalized[d];
        if (d >= offset) {
          const std::int64_t dim = s[d - offset];
          if (dim != 1 && dim != normalized[d]) return std::unexpected(Error{ErrorCode::engine_node_invalid, ""});
          if (dim != 1) position += coordinate * strides[d - offset];
        }
      }
      index[i] = position;
    }
    return index;
  };
  auto scale_index = broadcast_index((*scale)->shape);
  if (!scale_index) return context.invalid("scale " + shape_to_string((*scale)->shape) + " does not broadcast to " + shape_to_string(normalized));
  std::vector<std::int64_t> bias_index;
  const bool has_bias = context.has_input(2);
  if (has_bias) {
    auto index = broadcast_index(context.input(2)->shape);
    if (!index) return context.invalid("B does not broadcast to the normalised shape");
    bias_index = std::move(*index);
  }
  const std::int64_t outer = product(shape, 0, a), size = product(shape, a, shape.size());
  const double epsilon = *epsilon_attribute;
  Shape stats_shape(shape.begin(), shape.begin() + static_cast<std::ptrdiff_t>(a));
  stats_shape.resize(shape.size(), 1);
  std::vector<OutputSpec> outputs{output(type, shape)};
  for (std::size_t i = 1; i < context.output_count(); ++i) outputs.push_back(output(type, stats_shape));
  auto scale_map = std::make_shared<const std::vector<std::int64_t>>(std::move(*scale_index));
  auto bias_map = std::make_shared<const std::vector<std::int64_t>>(std::move(bias_index));
  return make_kernel(outputs, [=](const RunContext& run) -> Status {
    const float* in = run.in<float>(0);
    const float* gamma = run.in<float>(1);
    const float* beta = has_bias ? run.in<float>(2) : nullptr;
    float* out = run.out<float>(0);
    float* mean_out = run.outputs.size() > 1 ? run.out<float>(1) : nullptr;
    float* inv_out = run.outputs.size() > 2 ? run.out<float>(2) : nullptr;
    parallel_for(outer, size, [&](std::int64_t o) {
      const float* src = in + o * size;
      float* dst = out + o * size;
      double sum = 0, squares = 0;
      for (std::int64_t i = 0; i < size; ++i) sum += src[i];
      const double mean = sum / static_cast<double>(size);
      for (std::int64_t i = 0; i < size; ++i) squares += (src[i] - mean) * (src[i] - mean);
      const double inverse = 1.0 / std::sqrt(squares / static_cast<double>(size) + epsilon);
      for (std::int64_t i = 0; i < size; ++i) {
        double value = (src[i] - mean) * inverse * gamma[(*scale_map)[static_cast<std::size_t>(i)]];
        if (beta) value += beta[(*bias_map)[static_cast<std::size_t>(i)]];
        dst[i] = static_cast<float>(value);
      }
      if (mean_out) mean_out[o] = static_cast<float>(mean);
      if (inv_out) inv_out[o] = static_cast<float>(inverse);
    });
    return {};
  });
}

}  // namespace cloister::engine

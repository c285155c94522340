// MeanVarianceNormalization: y = (x - mean) / sqrt(var) over the axes (default 0, 2, 3).
#include "ops/common.h"
#include "ops/operators.h"

#include <algorithm>
#include <cmath>

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_mean_variance_normalization(NodeContext& context) {
  auto x = context.required_input(0);
  if (!x) return std::unexpected(x.error());
  if ((*x)->dtype != DataType::float32) return context.unsupported_type((*x)->dtype);
  const Shape& shape = (*x)->shape;
  auto axes = context.attribute_ints("axes", {0, 2, 3});
  if (!axes) return std::unexpected(axes.error());
  std::vector<bool> reduce(shape.size(), false);
  for (auto value : *axes) {
    auto axis = context.axis(value, shape.size());
    if (!axis) return std::unexpected(axis.error());
    reduce[static_cast<std::size_t>(*axis)] = true;
  }
  const auto strides = strides_of(shape);
  const std::int64_t count = shape_element_count(shape);
  std::int64_t groups = 1;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (!reduce[i]) groups *= shape[i];
  }
  // group index of every element (the coordinates on the kept axes)
  auto group_of = std::make_shared<std::vector<std::int64_t>>(static_cast<std::size_t>(count));
  for (std::int64_t e = 0; e < count; ++e) {
    std::int64_t rest = e, group = 0;
    for (std::size_t d = 0; d < shape.size(); ++d) {
      std::int64_t coordinate = rest / strides[d];
      rest %= strides[d];
      if (!reduce[d]) group = group * shape[d] + coordinate;
    }
    (*group_of)[static_cast<std::size_t>(e)] = group;
  }
  return make_kernel({output(DataType::float32, shape)}, [=](const RunContext& run) -> Status {
    const float* in = run.in<float>(0);
    float* out = run.out<float>(0);
    std::vector<double> sum(static_cast<std::size_t>(groups), 0), squares(static_cast<std::size_t>(groups), 0);
    std::vector<std::int64_t> n(static_cast<std::size_t>(groups), 0);
    for (std::int64_t e = 0; e < count; ++e) {
      auto g = static_cast<std::size_t>((*group_of)[static_cast<std::size_t>(e)]);
      sum[g] += in[e];
      squares[g] += static_cast<double>(in[e]) * in[e];
      ++n[g];
    }
    for (std::int64_t e = 0; e < count; ++e) {
      auto g = static_cast<std::size_t>((*group_of)[static_cast<std::size_t>(e)]);
      const double mean = sum[g] / static_cast<double>(n[g]);
      const double variance = squares[g] / static_cast<double>(n[g]) - mean * mean;
      out[e] = static_cast<float>((in[e] - mean) / (std::sqrt(std::max(variance, 0.0)) + 1e-9));
    }
    return {};
  });
}

}  // namespace cloister::engine

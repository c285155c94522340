// Slice: starts/ends/axes/steps (inputs from opset 10, attributes before), clamped as ONNX says.
#include "ops/common.h"
#include "ops/operators.h"

#include <algorithm>
#include <limits>

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_slice(NodeContext& context) {
  auto x = context.required_input(0);
  if (!x) return std::unexpected(x.error());
  const Shape& shape = (*x)->shape;
  const std::size_t rank = shape.size();
  std::vector<std::int64_t> starts, ends, axes, steps;
  if (context.opset() < 10) {
    auto s = context.attribute_ints("starts");
    if (!s) return std::unexpected(s.error());
    auto e = context.attribute_ints("ends");
    if (!e) return std::unexpected(e.error());
    auto a = context.attribute_ints("axes");
    if (!a) return std::unexpected(a.error());
    starts = *s;
    ends = *e;
    axes = *a;
  } else {
    auto s = context.constant_ints(1);
    if (!s) return std::unexpected(s.error());
    auto e = context.constant_ints(2);
    if (!e) return std::unexpected(e.error());
    starts = *s;
    ends = *e;
    if (context.has_input(3)) {
      auto a = context.constant_ints(3);
      if (!a) return std::unexpected(a.error());
      axes = *a;
    }
    if (context.has_input(4)) {
      auto t = context.constant_ints(4);
      if (!t) return std::unexpected(t.error());
      steps = *t;
    }
  }
  if (starts.size() != ends.size()) return context.invalid("starts and ends differ in length");
  if (axes.empty()) {
    for (std::size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<std::int64_t>(i));
  }
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (axes.size() != starts.size() || steps.size() != starts.size()) return context.invalid("starts, ends, axes and steps differ in length");
  std::vector<std::int64_t> begin(rank, 0), step(rank, 1);
  Shape result = shape;
  std::vector<bool> seen(rank, false);
  for (std::size_t i = 0; i < axes.size(); ++i) {
    auto axis = context.axis(axes[i], rank);
    if (!axis) return std::unexpected(axis.error());
    const auto a = static_cast<std::size_t>(*axis);
    if (seen[a]) return context.invalid("axis " + std::to_string(axes[i]) + " is repeated");
    seen[a] = true;
    const std::int64_t dim = shape[a];
    // Steps beyond the dimension give one element: clamp them so no arithmetic overflows.
    const std::int64_t s = std::clamp<std::int64_t>(steps[i], -(std::int64_t{1} << 62), std::int64_t{1} << 62);
    if (s == 0) return context.invalid("steps must not be 0");
    std::int64_t start = starts[i];
    std::int64_t end = ends[i];
    if (start < 0) start = start < std::numeric_limits<std::int64_t>::min() / 2 ? -dim - 1 : start + dim;
    if (end < 0) end = end < std::numeric_limits<std::int64_t>::min() / 2 ? -dim - 1 : end + dim;
    std::int64_t count;
    if (dim == 0) {
      start = 0;
      count = 0;
    } else if (s > 0) {
      start = std::clamp<std::int64_t>(start, 0, dim);
      end = std::clamp<std::int64_t>(end, 0, dim);
      count = end > start ? (end - start - 1) / s + 1 : 0;
    } else {
      start = std::clamp<std::int64_t>(start, 0, dim - 1);
      end = std::clamp<std::int64_t>(end, -1, dim - 1);
      count = start > end ? (start - end - 1) / (-s) + 1 : 0;
    }
    begin[a] = start;
    step[a] = s;
    result[a] = count;
  }
  const auto strides = strides_of(shape);
  std::int64_t base = 0;
  std::vector<std::int64_t> input_strides(rank);
  bool empty = shape_element_count(result) == 0;
  for (std::size_t d = 0; d < rank; ++d) {
    if (!empty) base += begin[d] * strides[d];
    input_strides[d] = step[d] * strides[d];
  }
  auto copy = std::make_shared<const StridedCopy>(result, input_strides, base, data_type_size((*x)->dtype));
  return make_kernel({output((*x)->dtype, result)}, [copy](const RunContext& run) -> Status {
    copy->run(run.inputs[0], run.outputs[0]);
    return {};
  });
}

}  // namespace cloister::engine

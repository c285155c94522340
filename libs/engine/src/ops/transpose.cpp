// Transpose: permutes the axes (default: reversed).
#include "ops/common.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_transpose(NodeContext& context) {
  auto x = context.required_input(0);
  if (!x) return std::unexpected(x.error());
  const Shape& shape = (*x)->shape;
  const std::size_t rank = shape.size();
  std::vector<std::int64_t> reversed;
  for (std::size_t i = rank; i-- > 0;) reversed.push_back(static_cast<std::int64_t>(i));
  auto perm = context.attribute_ints("perm", reversed);
  if (!perm) return std::unexpected(perm.error());
  if (perm->size() != rank) return context.invalid("perm has " + std::to_string(perm->size()) + " entries for rank " + std::to_string(rank));
  std::vector<bool> seen(rank, false);
  const auto strides = strides_of(shape);
  Shape result;
  std::vector<std::int64_t> input_strides;
  for (auto value : *perm) {
    auto axis = context.axis(value, rank);
    if (!axis) return std::unexpected(axis.error());
    if (seen[static_cast<std::size_t>(*axis)]) return context.invalid("perm repeats axis " + std::to_string(value));
    seen[static_cast<std::size_t>(*axis)] = true;
    result.push_back(shape[static_cast<std::size_t>(*axis)]);
    input_strides.push_back(strides[static_cast<std::size_t>(*axis)]);
  }
  auto copy = std::make_shared<const StridedCopy>(result, input_strides, 0, data_type_size((*x)->dtype));
  return make_kernel({output((*x)->dtype, result)}, [copy](const RunContext& run) -> Status {
    copy->run(run.inputs[0], run.outputs[0]);
    return {};
  });
}

}  // namespace cloister::engine

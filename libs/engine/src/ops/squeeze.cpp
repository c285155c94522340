// Squeeze: removes the given size-1 axes (attribute before opset 13, input after), or all.
#include "ops/common.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_squeeze(NodeContext& context) {
  auto x = context.required_input(0);
  if (!x) return std::unexpected(x.error());
  const Shape& shape = (*x)->shape;
  std::vector<std::int64_t> axes;
  if (context.opset() < 13) {
    auto attribute = context.attribute_ints("axes");
    if (!attribute) return std::unexpected(attribute.error());
    axes = *attribute;
  } else if (context.has_input(1)) {
    auto values = context.constant_ints(1);
    if (!values) return std::unexpected(values.error());
    axes = *values;
  }
  std::vector<bool> remove(shape.size(), false);
  if (axes.empty()) {
    for (std::size_t i = 0; i < shape.size(); ++i) remove[i] = shape[i] == 1;
  }
  for (auto value : axes) {
    auto axis = context.axis(value, shape.size());
    if (!axis) return std::unexpected(axis.error());
    if (shape[static_cast<std::size_t>(*axis)] != 1) {
      return context.invalid("axis " + std::to_string(value) + " of " + shape_to_string(shape) + " is not 1");
    }
    remove[static_cast<std::size_t>(*axis)] = true;
  }
  Shape result;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (!remove[i]) result.push_back(shape[i]);
  }
  return make_alias_kernel(**x, std::move(result));
}

}  // namespace cloister::engine

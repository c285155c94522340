// Unsqueeze: inserts size-1 axes at the given output positions (attribute before opset 13).
#include "ops/common.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_unsqueeze(NodeContext& context) {
  auto x = context.required_input(0);
  if (!x) return std::unexpected(x.error());
  std::vector<std::int64_t> axes;
  if (context.opset() < 13) {
    auto attribute = context.attribute_ints("axes");
    if (!attribute) return std::unexpected(attribute.error());
    axes = *attribute;
  } else {
    auto values = context.constant_ints(1);
    if (!values) return std::unexpected(values.error());
    axes = *values;
  }
  const Shape& shape = (*x)->shape;
  const std::size_t rank = shape.size() + axes.size();
  std::vector<bool> inserted(rank, false);
  for (auto value : axes) {
    auto axis = context.axis(value, rank);
    if (!axis) return std::unexpected(axis.error());
    if (inserted[static_cast<std::size_t>(*axis)]) return context.invalid("axis " + std::to_string(value) + " is repeated");
    inserted[static_cast<std::size_t>(*axis)] = true;
  }
  Shape result;
  std::size_t next = 0;
  for (std::size_t i = 0; i < rank; ++i) result.push_back(inserted[i] ? 1 : shape[next++]);
  return make_alias_kernel(**x, std::move(result));
}

}  // namespace cloister::engine

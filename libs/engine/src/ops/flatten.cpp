// Flatten: [d0 x ... x d(axis-1), d(axis) x ... x dn].
#include "ops/common.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_flatten(NodeContext& context) {
  auto x = context.required_input(0);
  if (!x) return std::unexpected(x.error());
  const Shape& shape = (*x)->shape;
  auto axis_attribute = context.attribute_int("axis", 1);
  if (!axis_attribute) return std::unexpected(axis_attribute.error());
  const auto rank = static_cast<std::int64_t>(shape.size());
  std::int64_t axis = *axis_attribute;
  if (axis < -rank || axis > rank) return context.invalid("axis " + std::to_string(axis) + " is out of range");
  if (axis < 0) axis += rank;
  std::int64_t outer = product(shape, 0, static_cast<std::size_t>(axis));
  std::int64_t inner = product(shape, static_cast<std::size_t>(axis), shape.size());
  return make_alias_kernel(**x, {outer, inner});
}

}  // namespace cloister::engine

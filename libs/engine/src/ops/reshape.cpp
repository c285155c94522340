// Reshape: new shape from input 1 (0 copies the input dimension unless allowzero, -1 infers).
#include "ops/common.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_reshape(NodeContext& context) {
  auto x = context.required_input(0);
  if (!x) return std::unexpected(x.error());
  std::vector<std::int64_t> requested;
  if (context.opset() < 5) {
    auto shape = context.attribute_ints("shape");
    if (!shape) return std::unexpected(shape.error());
    requested = *shape;
  } else {
    auto shape = context.constant_ints(1);
    if (!shape) return std::unexpected(shape.error());
    requested = *shape;
  }
  auto allow_zero = context.attribute_int("allowzero", 0);
  if (!allow_zero) return std::unexpected(allow_zero.error());
  const Shape& input_shape = (*x)->shape;
  Shape shape;
  int infer = -1;
  std::int64_t known = 1;
  for (std::size_t i = 0; i < requested.size(); ++i) {
    std::int64_t d = requested[i];
    if (d == 0 && !*allow_zero) {
      if (i >= input_shape.size()) return context.invalid("dimension " + std::to_string(i) + " is 0 but the input has rank " + std::to_string(input_shape.size()));
      d = input_shape[i];
    } else if (d == -1) {
      if (infer >= 0) return context.invalid("more than one dimension is -1");
      infer = static_cast<int>(i);
      shape.push_back(1);
      continue;
    } else if (d < 0) {
      return context.invalid("invalid dimension " + std::to_string(d));
    }
    shape.push_back(d);
    if (d != 0) {
      if (known > (std::int64_t{1} << 62) / d) return context.invalid("shape is too large");
      known *= d;
    } else {
      known = 0;
    }
  }
  const std::int64_t count = (*x)->elements();
  if (infer >= 0) {
    if (known == 0 || count % known != 0) {
      return context.invalid("cannot reshape " + shape_to_string(input_shape) + " to " + shape_to_string(requested));
    }
    shape[static_cast<std::size_t>(infer)] = count / known;
  }
  if (shape_element_count(shape) != count) {
    return context.invalid("cannot reshape " + shape_to_string(input_shape) + " to " + shape_to_string(requested));
  }
  return make_alias_kernel(**x, std::move(shape));
}

}  // namespace cloister::engine

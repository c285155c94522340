// Shrink: y = x < -lambd ? x + bias : x > lambd ? x - bias : 0.
#include "ops/elementwise.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_shrink(NodeContext& context) {
  auto bias_attribute = context.attribute_float("bias", 0.0f);
  if (!bias_attribute) return std::unexpected(bias_attribute.error());
  const float bias = *bias_attribute;
  auto lambd_attribute = context.attribute_float("lambd", 0.5f);
  if (!lambd_attribute) return std::unexpected(lambd_attribute.error());
  const float lambd = *lambd_attribute;
  return make_unary<kNumericTypes>(context, [bias, lambd](auto x) {
    using T [[maybe_unused]] = decltype(x);
    return x < static_cast<T>(-lambd) ? static_cast<T>(x + static_cast<T>(bias)) : x > static_cast<T>(lambd) ? static_cast<T>(x - static_cast<T>(bias)) : T(0);
  });
}

}  // namespace cloister::engine

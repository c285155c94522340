// ThresholdedRelu: y = x > alpha ? x : 0.
#include "ops/elementwise.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_thresholded_relu(NodeContext& context) {
  auto alpha_attribute = context.attribute_float("alpha", 1.0f);
  if (!alpha_attribute) return std::unexpected(alpha_attribute.error());
  const float alpha = *alpha_attribute;
  return make_unary<kFloatTypes>(context, [alpha](auto x) {
    using T [[maybe_unused]] = decltype(x);
    return x > static_cast<T>(alpha) ? x : T(0);
  });
}

}  // namespace cloister::engine

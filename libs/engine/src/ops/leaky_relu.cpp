// LeakyRelu: y = x < 0 ? alpha * x : x.
#include "ops/elementwise.h"
#include "ops/eltwise.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_leaky_relu(NodeContext& context) {
  auto alpha_attribute = context.attribute_float("alpha", 0.01f);
  if (!alpha_attribute) return std::unexpected(alpha_attribute.error());
  const float alpha = *alpha_attribute;
  return make_eltwise(context, EltwiseKind::relu, alpha, 0.0f, make_unary<kFloatTypes>(context, [alpha](auto x) {
    using T [[maybe_unused]] = decltype(x);
    // A select of the slope (not of two products) vectorizes; a branch would mispredict.
    const T slope = x < T(0) ? static_cast<T>(alpha) : T(1);
    return x * slope;
  }));
}

}  // namespace cloister::engine

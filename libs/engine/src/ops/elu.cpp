// Elu: y = x < 0 ? alpha * (e^x - 1) : x.
#include "ops/elementwise.h"
#include "ops/eltwise.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_elu(NodeContext& context) {
  auto alpha_attribute = context.attribute_float("alpha", 1.0f);
  if (!alpha_attribute) return std::unexpected(alpha_attribute.error());
  const float alpha = *alpha_attribute;
  return make_eltwise(context, EltwiseKind::elu, alpha, 0.0f, make_unary<kFloatTypes>(context, [alpha](auto x) {
    using T [[maybe_unused]] = decltype(x);
    return x < T(0) ? static_cast<T>(alpha) * (std::exp(x) - T(1)) : x;
  }));
}

}  // namespace cloister::engine

// HardSigmoid: y = max(0, min(1, alpha * x + beta)).
#include "ops/elementwise.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_hard_sigmoid(NodeContext& context) {
  auto alpha_attribute = context.attribute_float("alpha", 0.2f);
  if (!alpha_attribute) return std::unexpected(alpha_attribute.error());
  const float alpha = *alpha_attribute;
  auto beta_attribute = context.attribute_float("beta", 0.5f);
  if (!beta_attribute) return std::unexpected(beta_attribute.error());
  const float beta = *beta_attribute;
  return make_unary<kFloatTypes>(context, [alpha, beta](auto x) {
    using T [[maybe_unused]] = decltype(x);
    return std::max(T(0), std::min(T(1), static_cast<T>(alpha) * x + static_cast<T>(beta)));
  });
}

}  // namespace cloister::engine

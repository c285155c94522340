// Selu: y = gamma * (x > 0 ? x : alpha * e^x - alpha).
#include "ops/elementwise.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_selu(NodeContext& context) {
  auto alpha_attribute = context.attribute_float("alpha", 1.67326319217681884765625f);
  if (!alpha_attribute) return std::unexpected(alpha_attribute.error());
  const float alpha = *alpha_attribute;
  auto gamma_attribute = context.attribute_float("gamma", 1.05070102214813232421875f);
  if (!gamma_attribute) return std::unexpected(gamma_attribute.error());
  const float gamma = *gamma_attribute;
  return make_unary<kFloatTypes>(context, [alpha, gamma](auto x) {
    using T [[maybe_unused]] = decltype(x);
    return x > T(0) ? static_cast<T>(gamma) * x : static_cast<T>(gamma) * (static_cast<T>(alpha) * std::exp(x) - static_cast<T>(alpha));
  });
}

}  // namespace cloister::engine

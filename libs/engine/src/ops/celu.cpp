// Celu: y = max(0, x) + min(0, alpha * (e^(x / alpha) - 1)).
#include "ops/elementwise.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_celu(NodeContext& context) {
  auto alpha_attribute = context.attribute_float("alpha", 1.0f);
  if (!alpha_attribute) return std::unexpected(alpha_attribute.error());
  const float alpha = *alpha_attribute;
  return make_unary<kFloatTypes>(context, [alpha](auto x) {
    using T [[maybe_unused]] = decltype(x);
    return std::max(T(0), x) + std::min(T(0), static_cast<T>(alpha) * (std::exp(x / static_cast<T>(alpha)) - T(1)));
  });
}

}  // namespace cloister::engine

// Gelu (opset 20): y = x/2 * (1 + erf(x/sqrt 2)), or the tanh approximation.
#include "ops/elementwise.h"
#include "ops/eltwise.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_gelu(NodeContext& context) {
  auto approximate = context.attribute_string("approximate", "none");
  if (!approximate) return std::unexpected(approximate.error());
  if (*approximate == "tanh") {
    return make_unary<kFloatTypes>(context, [](auto x) {
      using T [[maybe_unused]] = decltype(x);
      const T k = static_cast<T>(0.7978845608028654);  // sqrt(2 / pi)
      return T(0.5) * x * (T(1) + std::tanh(k * (x + T(0.044715) * x * x * x)));
    });
  }
  if (*approximate != "none") return context.invalid("approximate must be 'none' or 'tanh'");
  return make_unary<kFloatTypes>(context, [](auto x) {
    using T [[maybe_unused]] = decltype(x);
    return T(0.5) * x * (T(1) + std::erf(x * static_cast<T>(0.7071067811865476)));
  });
}

}  // namespace cloister::engine

// Div: a / b with broadcasting. Integer division truncates; dividing by zero gives 0 and
// INT_MIN / -1 wraps (never a trap).
#include "ops/arithmetic.h"
#include "ops/elementwise.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_div(NodeContext& context) {
  return make_arithmetic(context, ArithmeticKind::div, make_binary<kNumericTypes>(context, [](auto a, auto b) {
    using T [[maybe_unused]] = decltype(a);
    if constexpr (std::is_integral_v<T>) {
      if (b == T(0)) return T(0);
      if constexpr (std::is_signed_v<T>) {
        if (b == T(-1)) return wrap_sub(T(0), a);
      }
      return static_cast<T>(a / b);
    } else {
      return a / b;
    }
  }));
}

}  // namespace cloister::engine

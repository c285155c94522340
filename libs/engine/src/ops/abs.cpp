// Abs: y = |x|.
#include "ops/elementwise.h"
#include "ops/eltwise.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_abs(NodeContext& context) {
  return make_eltwise(context, EltwiseKind::abs, 0.0f, 0.0f, make_unary<kNumericTypes>(context, [](auto x) {
    using T [[maybe_unused]] = decltype(x);
    if constexpr (std::is_unsigned_v<T>) return x; else return static_cast<T>(x < 0 ? -x : x);
  }));
}

}  // namespace cloister::engine

// HardSwish: y = x * max(0, min(1, x / 6 + 1/2)).
#include "ops/elementwise.h"
#include "ops/eltwise.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_hard_swish(NodeContext& context) {
  return make_eltwise(context, EltwiseKind::hardswish, 0.0f, 0.0f, make_unary<kFloatTypes>(context, [](auto x) {
    using T [[maybe_unused]] = decltype(x);
    return x * std::max(T(0), std::min(T(1), x / T(6) + T(0.5)));
  }));
}

}  // namespace cloister::engine

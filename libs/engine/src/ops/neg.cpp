// Neg: y = -x.
#include "ops/elementwise.h"
#include "ops/eltwise.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_neg(NodeContext& context) {
  return make_eltwise(context, EltwiseKind::linear, -1.0f, 0.0f, make_unary<kSignedTypes | kFloatTypes>(context, [](auto x) {
    using T [[maybe_unused]] = decltype(x);
    return static_cast<T>(-x);
  }));
}

}  // namespace cloister::engine

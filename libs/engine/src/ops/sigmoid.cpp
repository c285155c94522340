// Sigmoid: y = 1 / (1 + e^-x).
#include "ops/elementwise.h"
#include "ops/eltwise.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_sigmoid(NodeContext& context) {
  return make_eltwise(context, EltwiseKind::logistic, 0.0f, 0.0f, make_unary<kFloatTypes>(context, [](auto x) {
    using T [[maybe_unused]] = decltype(x);
    return T(1) / (T(1) + std::exp(-x));
  }));
}

}  // namespace cloister::engine

// Softplus: y = ln(e^x + 1) (computed stably).
#include "ops/elementwise.h"
#include "ops/eltwise.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_softplus(NodeContext& context) {
  return make_eltwise(context, EltwiseKind::soft_relu, 0.0f, 0.0f, make_unary<kFloatTypes>(context, [](auto x) {
    using T [[maybe_unused]] = decltype(x);
    return x > T(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
  }));
}

}  // namespace cloister::engine

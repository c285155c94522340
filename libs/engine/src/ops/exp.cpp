// Exp: y = e^x.
#include "ops/elementwise.h"
#include "ops/eltwise.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_exp(NodeContext& context) {
  return make_eltwise(context, EltwiseKind::exp, 0.0f, 0.0f, make_unary<kFloatTypes>(context, [](auto x) {
    using T [[maybe_unused]] = decltype(x);
    return std::exp(x);
  }));
}

}  // namespace cloister::engine

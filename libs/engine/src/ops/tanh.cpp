// Tanh.
#include "ops/elementwise.h"
#include "ops/eltwise.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_tanh(NodeContext& context) {
  return make_eltwise(context, EltwiseKind::tanh, 0.0f, 0.0f, make_unary<kFloatTypes>(context, [](auto x) {
    using T [[maybe_unused]] = decltype(x);
    return std::tanh(x);
  }));
}

}  // namespace cloister::engine

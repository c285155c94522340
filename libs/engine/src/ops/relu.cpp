// Relu: y = max(x, 0).
#include "ops/elementwise.h"
#include "ops/eltwise.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_relu(NodeContext& context) {
  return make_eltwise(context, EltwiseKind::relu, 0.0f, 0.0f, make_unary<kFloatTypes | kSignedTypes>(context, [](auto x) {
    using T [[maybe_unused]] = decltype(x);
    return x > T(0) ? x : T(0);
  }));
}

}  // namespace cloister::engine

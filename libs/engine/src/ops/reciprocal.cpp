// Reciprocal: y = 1 / x.
#include "ops/elementwise.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_reciprocal(NodeContext& context) {
  return make_unary<kFloatTypes>(context, [](auto x) {
    using T [[maybe_unused]] = decltype(x);
    return T(1) / x;
  });
}

}  // namespace cloister::engine

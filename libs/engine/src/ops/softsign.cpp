// Softsign: y = x / (1 + |x|).
#include "ops/elementwise.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_softsign(NodeContext& context) {
  return make_unary<kFloatTypes>(context, [](auto x) {
    using T [[maybe_unused]] = decltype(x);
    return x / (T(1) + std::abs(x));
  });
}

}  // namespace cloister::engine

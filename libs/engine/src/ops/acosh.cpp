// Acosh.
#include "ops/elementwise.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_acosh(NodeContext& context) {
  return make_unary<kFloatTypes>(context, [](auto x) {
    using T [[maybe_unused]] = decltype(x);
    return std::acosh(x);
  });
}

}  // namespace cloister::engine

// Sinh.
#include "ops/elementwise.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_sinh(NodeContext& context) {
  return make_unary<kFloatTypes>(context, [](auto x) {
    using T [[maybe_unused]] = decltype(x);
    return std::sinh(x);
  });
}

}  // namespace cloister::engine

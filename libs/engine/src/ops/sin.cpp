// Sin.
#include "ops/elementwise.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_sin(NodeContext& context) {
  return make_unary<kFloatTypes>(context, [](auto x) {
    using T [[maybe_unused]] = decltype(x);
    return std::sin(x);
  });
}

}  // namespace cloister::engine

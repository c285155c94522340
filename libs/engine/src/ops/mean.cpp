// Mean: elementwise mean of all inputs with broadcasting.
#include "ops/elementwise.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_mean(NodeContext& context) {
  return make_variadic<kFloatTypes>(context, [](auto a, auto b) { return a + b; }, true);
}

}  // namespace cloister::engine

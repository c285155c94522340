// Sum: elementwise sum of all inputs with broadcasting.
#include "ops/elementwise.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_sum(NodeContext& context) {
  return make_variadic<kNumericTypes>(context, [](auto a, auto b) { return wrap_add(a, b); });
}

}  // namespace cloister::engine

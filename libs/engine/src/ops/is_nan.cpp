// IsNaN: y = isnan(x) (bool).
#include "ops/elementwise.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_is_nan(NodeContext& context) {
  return make_unary<kFloatTypes, true>(context, [](auto x) { return std::isnan(x); });
}

}  // namespace cloister::engine

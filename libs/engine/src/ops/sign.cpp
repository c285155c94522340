// Sign: -1, 0 or 1.
#include "ops/elementwise.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_sign(NodeContext& context) {
  return make_unary<kNumericTypes>(context, [](auto x) {
    using T [[maybe_unused]] = decltype(x);
    return static_cast<T>((T(0) < x) - (x < T(0)));
  });
}

}  // namespace cloister::engine

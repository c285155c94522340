// Min: elementwise minimum of all inputs with broadcasting (NaN propagates).
#include "ops/elementwise.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_min(NodeContext& context) {
  return make_variadic<kNumericTypes>(context, [](auto a, auto b) {
    using T [[maybe_unused]] = decltype(a);
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
    }
    return b < a ? b : a;
  });
}

}  // namespace cloister::engine

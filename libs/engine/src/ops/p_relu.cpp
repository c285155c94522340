// PRelu: y = x < 0 ? slope * x : x, slope broadcast to x.
#include "ops/elementwise.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_p_relu(NodeContext& context) {
  return make_binary<kFloatTypes | kSignedTypes | kUnsignedTypes>(context, [](auto x, auto slope) {
    using T [[maybe_unused]] = decltype(x);
    const T factor = x < T(0) ? slope : T(1);  // branchless: vectorizes
    return static_cast<T>(x * factor);
  });
}

}  // namespace cloister::engine

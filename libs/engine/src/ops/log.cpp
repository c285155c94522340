// Log: natural logarithm.
#include "ops/elementwise.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_log(NodeContext& context) {
  // Plain C++: oneDNN's approximate log gives log(1) = -1.4e-6, outside the ONNX tolerance.
  return make_unary<kFloatTypes>(context, [](auto x) {
    using T [[maybe_unused]] = decltype(x);
    return std::log(x);
  });
}

}  // namespace cloister::engine

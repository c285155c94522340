// LessOrEqual: a <= b (bool).
#include "ops/elementwise.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_less_or_equal(NodeContext& context) {
  return make_binary<kNumericTypes, BinaryOutput::boolean>(context, [](auto a, auto b) { return a <= b; });
}

}  // namespace cloister::engine

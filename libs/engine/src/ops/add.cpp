// Add: a + b with broadcasting (integers wrap).
#include "ops/arithmetic.h"
#include "ops/elementwise.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_add(NodeContext& context) {
  return make_arithmetic(context, ArithmeticKind::add, make_binary<kNumericTypes, BinaryOutput::same>(context, [](auto a, auto b) { return wrap_add(a, b); }));
}

}  // namespace cloister::engine

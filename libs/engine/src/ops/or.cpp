// Or: logical or.
#include "ops/elementwise.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_or(NodeContext& context) {
  return make_binary<kBoolType, BinaryOutput::same>(context, [](auto a, auto b) { return a || b; });
}

}  // namespace cloister::engine

// Not: logical negation.
#include "ops/elementwise.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_not(NodeContext& context) {
  return make_unary<kBoolType>(context, [](auto x) {
    using T [[maybe_unused]] = decltype(x);
    return !x;
  });
}

}  // namespace cloister::engine

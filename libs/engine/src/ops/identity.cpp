// Identity: y = x (shares the buffer).
#include "ops/common.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_identity(NodeContext& context) {
  auto x = context.required_input(0);
  if (!x) return std::unexpected(x.error());
  return make_alias_kernel(**x, (*x)->shape);
}

}  // namespace cloister::engine

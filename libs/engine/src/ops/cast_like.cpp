// CastLike: Cast to the type of the second input.
#include "ops/cast_common.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_cast_like(NodeContext& context) {
  auto like = context.required_input(1);
  if (!like) return std::unexpected(like.error());
  return make_cast_kernel(context, (*like)->dtype);
}

}  // namespace cloister::engine

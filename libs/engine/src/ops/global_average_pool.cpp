// GlobalAveragePool: the mean over all spatial positions (oneDNN pooling over the whole extent).
#include "ops/operators.h"
#include "ops/pooling.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_global_average_pool(NodeContext& context) {
  auto x = context.required_input(0);
  if (!x) return std::unexpected(x.error());
  if ((*x)->shape.size() < 3) return context.invalid("input rank must be 3 or more");
  return make_pool_kernel(context, **x, PoolKind::average_exclude_padding, *global_geometry((*x)->shape));
}

}  // namespace cloister::engine

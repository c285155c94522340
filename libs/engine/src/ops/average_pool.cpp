// AveragePool (1D/2D/3D, pads / auto_pad, ceil_mode, count_include_pad) on oneDNN.
#include "ops/operators.h"
#include "ops/pooling.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_average_pool(NodeContext& context) {
  auto x = context.required_input(0);
  if (!x) return std::unexpected(x.error());
  auto geometry = pool_geometry(context, **x, context.opset() >= 19);
  if (!geometry) return std::unexpected(geometry.error());
  auto include = context.attribute_int("count_include_pad", 0);
  if (!include) return std::unexpected(include.error());
  return make_pool_kernel(context, **x, *include ? PoolKind::average_include_padding : PoolKind::average_exclude_padding,
                          std::move(*geometry));
}

}  // namespace cloister::engine

// ReduceMin: minimum over the axes.
#include "ops/operators.h"
#include "ops/reduce_common.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_reduce_min(NodeContext& context) { return make_reduce(context, ReduceKind::min); }

}  // namespace cloister::engine

// ReduceMax: maximum over the axes.
#include "ops/operators.h"
#include "ops/reduce_common.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_reduce_max(NodeContext& context) { return make_reduce(context, ReduceKind::max); }

}  // namespace cloister::engine

// ReduceSum: sum over the axes.
#include "ops/operators.h"
#include "ops/reduce_common.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_reduce_sum(NodeContext& context) { return make_reduce(context, ReduceKind::sum); }

}  // namespace cloister::engine

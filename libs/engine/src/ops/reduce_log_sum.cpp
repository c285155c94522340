// ReduceLogSum: log of the sum over the axes.
#include "ops/operators.h"
#include "ops/reduce_common.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_reduce_log_sum(NodeContext& context) { return make_reduce(context, ReduceKind::log_sum); }

}  // namespace cloister::engine

// ReduceLogSumExp: log of the sum of exponentials (stable).
#include "ops/operators.h"
#include "ops/reduce_common.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_reduce_log_sum_exp(NodeContext& context) { return make_reduce(context, ReduceKind::log_sum_exp); }

}  // namespace cloister::engine

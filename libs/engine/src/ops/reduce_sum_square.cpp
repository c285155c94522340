// ReduceSumSquare: sum of squares over the axes.
#include "ops/operators.h"
#include "ops/reduce_common.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_reduce_sum_square(NodeContext& context) { return make_reduce(context, ReduceKind::sum_square); }

}  // namespace cloister::engine

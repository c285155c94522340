// ReduceL1: sum of absolute values over the axes.
#include "ops/operators.h"
#include "ops/reduce_common.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_reduce_l1(NodeContext& context) { return make_reduce(context, ReduceKind::l1); }

}  // namespace cloister::engine

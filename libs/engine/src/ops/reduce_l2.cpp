// ReduceL2: Euclidean norm over the axes.
#include "ops/operators.h"
#include "ops/reduce_common.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_reduce_l2(NodeContext& context) { return make_reduce(context, ReduceKind::l2); }

}  // namespace cloister::engine

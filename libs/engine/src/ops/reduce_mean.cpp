// ReduceMean: mean over the axes.
#include "ops/operators.h"
#include "ops/reduce_common.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_reduce_mean(NodeContext& context) { return make_reduce(context, ReduceKind::mean); }

}  // namespace cloister::engine

// ReduceProd: product over the axes.
#include "ops/operators.h"
#include "ops/reduce_common.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_reduce_prod(NodeContext& context) { return make_reduce(context, ReduceKind::prod); }

}  // namespace cloister::engine

// ArgMax: index of the maximum along an axis (first, or last with select_last_index).
#include "ops/arg_common.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_arg_max(NodeContext& context) { return make_arg_reduce(context, true); }

}  // namespace cloister::engine

// ArgMin: index of the minimum along an axis (first, or last with select_last_index).
#include "ops/arg_common.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_arg_min(NodeContext& context) { return make_arg_reduce(context, false); }

}  // namespace cloister::engine

// Scatter (deprecated, opset 9-10): ScatterElements without reduction.
#include "ops/operators.h"
#include "ops/scatter_common.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_scatter(NodeContext& context) { return scatter_elements_kernel(context); }

}  // namespace cloister::engine

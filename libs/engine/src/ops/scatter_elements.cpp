// ScatterElements: data with updates written at indices along an axis (optional reduction).
#include "ops/operators.h"
#include "ops/scatter_common.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_scatter_elements(NodeContext& context) { return scatter_elements_kernel(context); }

}  // namespace cloister::engine

// LogSoftmax: x - log(sum(e^x)) along an axis (oneDNN).
#include "ops/operators.h"
#include "ops/softmax_common.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_log_softmax(NodeContext& context) { return make_softmax_kernel(context, true); }

}  // namespace cloister::engine

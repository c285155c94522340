#pragma once
// ArgMax / ArgMin: the index (int64) of the first (or last) extreme along an axis.

#include "ops/common.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_arg_reduce(NodeContext& context, bool maximum);

}  // namespace cloister::engine

#pragma once
// The Reduce* family: axes (attribute, or input from opset 13 for ReduceSum and 18 for the
// others), keepdims, noop_with_empty_axes.

#include "ops/common.h"

namespace cloister::engine {

enum class ReduceKind { sum, mean, max, min, prod, l1, l2, log_sum, log_sum_exp, sum_square };

Result<std::unique_ptr<Kernel>> make_reduce(NodeContext& context, ReduceKind kind);

}  // namespace cloister::engine

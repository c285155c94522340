#pragma once
// Add, Sub, Mul and Div on float32 tensors in oneDNN layouts: a oneDNN binary primitive when an
// operand comes in a blocked layout (the output keeps it), the plain broadcasting kernel
// otherwise (blocked operands are then reordered to plain scratch first).

#include "ops/common.h"

namespace cloister::engine {

enum class ArithmeticKind { add, sub, mul, div };

// Wraps the plain kernel of the node; `plain` must come from make_binary for the same node.
Result<std::unique_ptr<Kernel>> make_arithmetic(NodeContext& context, ArithmeticKind kind, Result<std::unique_ptr<Kernel>> plain);

}  // namespace cloister::engine

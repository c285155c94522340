#pragma once
// Unary activations on float32 tensors as oneDNN eltwise primitives (JIT, any layout, AVX-512
// where the CPU has it); other types keep the plain C++ kernel.

#include "ops/common.h"

namespace cloister::engine {

enum class EltwiseKind { relu, elu, tanh, logistic, exp, log, sqrt, abs, clip, hardswish, gelu_erf, gelu_tanh, mish, soft_relu, linear };

// Wraps `plain` (the C++ kernel of the node, used for non-float32 inputs): y = f(x; alpha, beta).
Result<std::unique_ptr<Kernel>> make_eltwise(NodeContext& context, EltwiseKind kind, float alpha, float beta,
                                             Result<std::unique_ptr<Kernel>> plain);

}  // namespace cloister::engine

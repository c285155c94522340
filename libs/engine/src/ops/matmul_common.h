#pragma once
// oneDNN matmul shared by MatMul and Gemm: dst[b..., M, N] = src[b..., M, K] x weights[b..., K, N]
// with broadcast batch dimensions, strided (transposed) operands, optional bias and post-ops.

#include "dnnl_util.h"
#include "ops/common.h"

namespace cloister::engine {

struct MatmulSpec {
  dnnl::memory::desc src;      // as the input buffer holds it
  dnnl::memory::desc weights;  // as the input buffer holds it
  dnnl::memory::desc dst;      // plain
  dnnl::memory::desc bias;     // empty when none
  const void* constant_bias = nullptr;
  std::shared_ptr<const Tensor> bias_storage;  // keeps constant_bias alive
  std::vector<PostOp> post_ops;
  float scale = 1.0f;          // applied to src x weights before the bias
};

class MatmulKernel final : public Kernel {
 public:
  explicit MatmulKernel(MatmulSpec spec, std::string name) : spec_(std::move(spec)), name_(std::move(name)) {}
  Status prepare(const PrepareContext& context) override;
  Status run(const RunContext& context) const override;
  std::string describe() const override { return name_ + "[" + implementation_ + "]"; }
  // A function of the output run after the matmul (Gemm's general C term), or empty.
  std::function<void(const RunContext&)> epilogue;

 private:
  MatmulSpec spec_;
  std::string name_;
  std::string implementation_;
  OwnedBuffer weights_;
  PrimitiveRunner runner_, weights_reorder_;
};

}  // namespace cloister::engine

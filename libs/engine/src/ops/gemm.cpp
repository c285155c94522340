// Gemm: Y = alpha * A' x B' + beta * C (A', B' optionally transposed; C broadcast to [M, N]) on
// oneDNN matmul; a constant C with alpha = 1 becomes the primitive's bias.
#include "ops/matmul_common.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_gemm(NodeContext& context) {
  auto a = context.required_input(0);
  if (!a) return std::unexpected(a.error());
  auto b = context.required_input(1);
  if (!b) return std::unexpected(b.error());
  for (const ValueInfo* input : {*a, *b}) {
    if (input->dtype != DataType::float32) return context.unsupported_type(input->dtype);
    if (input->shape.size() != 2) return context.invalid("A and B must be matrices");
  }
  auto trans_a = context.attribute_int("transA", 0);
  if (!trans_a) return std::unexpected(trans_a.error());
  auto trans_b = context.attribute_int("transB", 0);
  if (!trans_b) return std::unexpected(trans_b.error());
  auto alpha = context.attribute_float("alpha", 1.0f);
  if (!alpha) return std::unexpected(alpha.error());
  auto beta = context.attribute_float("beta", 1.0f);
  if (!beta) return std::unexpected(beta.error());
  const Shape& as = (*a)->shape;
  const Shape& bs = (*b)->shape;
  const std::int64_t m = *trans_a ? as[1] : as[0];
  const std::int64_t k = *trans_a ? as[0] : as[1];
  const std::int64_t kb = *trans_b ? bs[1] : bs[0];
  const std::int64_t n = *trans_b ? bs[0] : bs[1];
  if (k != kb) return context.invalid("inner dimensions differ: " + shape_to_string(as) + " x " + shape_to_string(bs));
  if (m == 0 || n == 0 || k == 0) return context.unsupported("empty inputs are not supported");
  const auto f32 = dnnl::memory::data_type::f32;
  MatmulSpec spec;
  spec.src = dnnl::memory::desc({m, k}, f32, *trans_a ? dnnl::memory::dims{1, m} : dnnl::memory::dims{k, 1});
  spec.weights = dnnl::memory::desc({k, n}, f32, *trans_b ? dnnl::memory::dims{1, k} : dnnl::memory::dims{n, 1});
  spec.dst = plain_desc(DataType::float32, {m, n});
  spec.scale = *alpha;
  std::shared_ptr<Tensor> bias;
  std::function<void(const RunContext&)> epilogue;
  if (context.has_input(2) && *beta != 0.0f) {
    const ValueInfo* c = context.input(2);
    if (c->dtype != DataType::float32) return context.unsupported_type(c->dtype);
    if (c->shape.size() > 2) return context.invalid("C must have rank 2 or less");
    Shape cs = c->shape;
    cs.insert(cs.begin(), 2 - cs.size(), 1);
    if ((cs[0] != 1 && cs[0] != m) || (cs[1] != 1 && cs[1] != n)) {
      return context.invalid("C " + shape_to_string(c->shape) + " cannot be broadcast to [" + std::to_string(m) + "," + std::to_string(n) + "]");
    }
    if (c->constant && *alpha == 1.0f) {
      bias = std::make_shared<Tensor>(*c->constant);
      bias->reshape(cs);
      for (auto& value : std::span(bias->data<float>(), static_cast<std::size_t>(bias->element_count()))) value *= *beta;
      spec.bias = plain_desc(DataType::float32, cs);
      spec.constant_bias = bias->bytes();
      spec.bias_storage = bias;
    } else {
      const float scale = *beta;
      const std::int64_t c_rows = cs[0], c_columns = cs[1];
      epilogue = [m, n, c_rows, c_columns, scale](const RunContext& run) {
        const float* c_data = run.in<float>(2);
        float* y = run.out<float>(0);
        for (std::int64_t i = 0; i < m; ++i) {
          for (std::int64_t j = 0; j < n; ++j) {
            y[i * n + j] += scale * c_data[(c_rows == 1 ? 0 : i) * c_columns + (c_columns == 1 ? 0 : j)];
          }
        }
      };
    }
  }
  auto kernel = std::make_unique<MatmulKernel>(std::move(spec), "Gemm");
  kernel->epilogue = std::move(epilogue);
  kernel->outputs.push_back(output(DataType::float32, {m, n}));
  kernel->flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  return std::unique_ptr<Kernel>(std::move(kernel));
}

}  // namespace cloister::engine

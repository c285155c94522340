// MatMul: NumPy matrix product (1-D operands promoted, batch dimensions broadcast) on oneDNN.
#include "ops/matmul_common.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_mat_mul(NodeContext& context) {
  auto a = context.required_input(0);
  if (!a) return std::unexpected(a.error());
  auto b = context.required_input(1);
  if (!b) return std::unexpected(b.error());
  if ((*a)->dtype != DataType::float32) return context.unsupported_type((*a)->dtype);
  if ((*b)->dtype != DataType::float32) return context.unsupported_type((*b)->dtype);
  Shape as = (*a)->shape, bs = (*b)->shape;
  if (as.empty() || bs.empty()) return context.invalid("MatMul inputs must have rank 1 or more");
  const bool a_vector = as.size() == 1, b_vector = bs.size() == 1;
  if (a_vector) as.insert(as.begin(), 1);
  if (b_vector) bs.push_back(1);
  const std::size_t rank = std::max(as.size(), bs.size());
  if (rank > 12) return context.unsupported("rank above 12 is not supported");
  as.insert(as.begin(), rank - as.size(), 1);
  bs.insert(bs.begin(), rank - bs.size(), 1);
  const std::int64_t m = as[rank - 2], k = as[rank - 1], n = bs[rank - 1];
  if (bs[rank - 2] != k) return context.invalid("inner dimensions differ: " + shape_to_string((*a)->shape) + " x " + shape_to_string((*b)->shape));
  Shape dst(rank);
  for (std::size_t i = 0; i + 2 < rank; ++i) {
    if (as[i] != bs[i] && as[i] != 1 && bs[i] != 1) return context.invalid("batch dimensions cannot be broadcast");
    dst[i] = std::max(as[i], bs[i]);
  }
  dst[rank - 2] = m;
  dst[rank - 1] = n;
  Shape result(dst.begin(), dst.end() - 2);
  if (!a_vector) result.push_back(m);
  if (!b_vector) result.push_back(n);
  for (auto d : dst) {
    if (d == 0) return context.unsupported("empty inputs are not supported");
  }
  if (k == 0) return context.unsupported("empty inputs are not supported");
  MatmulSpec spec;
  spec.src = plain_desc(DataType::float32, as);
  spec.weights = plain_desc(DataType::float32, bs);
  spec.dst = plain_desc(DataType::float32, dst);
  spec.post_ops.assign(context.post_ops().begin(), context.post_ops().end());
  auto kernel = std::make_unique<MatmulKernel>(std::move(spec), "MatMul");
  kernel->outputs.push_back(output(DataType::float32, result));
  kernel->flops = 2.0 * static_cast<double>(shape_element_count(dst)) * static_cast<double>(k);
  return std::unique_ptr<Kernel>(std::move(kernel));
}

}  // namespace cloister::engine

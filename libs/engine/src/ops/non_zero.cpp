// NonZero: the indices of the non-zero elements, [rank, count]. The count depends on the data,
// so the input must be known at compile time (folded).
#include "ops/common.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_non_zero(NodeContext& context) {
  auto x = context.required_input(0);
  if (!x) return std::unexpected(x.error());
  if (!(*x)->constant) return context.needs_constant(0);
  const Tensor& tensor = *(*x)->constant;
  const DataType type = tensor.dtype();
  if (!is_numeric(type) && type != DataType::boolean) return context.unsupported_type(type);
  const Shape s = tensor.shape();
  std::int64_t count = 0;
  for (std::int64_t e = 0; e < tensor.element_count(); ++e) count += load_as_double(type, tensor.bytes(), e) != 0;
  const auto rank = static_cast<std::int64_t>(s.size());
  return make_kernel({output(DataType::int64, {rank, count})}, [=](const RunContext& run) -> Status {
    auto* out = run.out<std::int64_t>(0);
    const auto strides = strides_of(s);
    std::int64_t column = 0;
    const std::int64_t total = shape_element_count(s);
    for (std::int64_t e = 0; e < total; ++e) {
      if (load_as_double(type, run.inputs[0], e) == 0) continue;
      std::int64_t rest = e;
      for (std::int64_t d = 0; d < rank; ++d) {
        out[d * count + column] = rest / strides[static_cast<std::size_t>(d)];
        rest %= strides[static_cast<std::size_t>(d)];
      }
      ++column;
    }
    return {};
  });
}

}  // namespace cloister::engine

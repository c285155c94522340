// Trilu: keeps the upper (or lower) triangle of the last two dimensions, offset by k.
#include "ops/common.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_trilu(NodeContext& context) {
  auto x = context.required_input(0);
  if (!x) return std::unexpected(x.error());
  const Shape& s = (*x)->shape;
  if (s.size() < 2) return context.invalid("input must have rank 2 or more");
  auto upper = context.attribute_int("upper", 1);
  if (!upper) return std::unexpected(upper.error());
  if (context.has_input(1) && context.input(1)->elements() != 1) return context.invalid("k must be a scalar");
  const bool keep_upper = *upper != 0;
  const std::int64_t rows = s[s.size() - 2], columns = s[s.size() - 1];
  const std::int64_t matrices = product(s, 0, s.size() - 2);
  const std::size_t size = data_type_size((*x)->dtype);
  const bool has_k = context.has_input(1);
  const DataType k_type = has_k ? context.input(1)->dtype : DataType::int64;
  return make_kernel({output((*x)->dtype, s)}, [=](const RunContext& run) -> Status {
    const std::int64_t k = has_k ? load_as_int(k_type, run.inputs[1], 0) : 0;
    const auto* src = static_cast<const std::byte*>(run.inputs[0]);
    auto* dst = static_cast<std::byte*>(run.outputs[0]);
    const auto n = static_cast<std::int64_t>(size);
    for (std::int64_t m = 0; m < matrices; ++m) {
      for (std::int64_t i = 0; i < rows; ++i) {
        for (std::int64_t j = 0; j < columns; ++j) {
          const std::int64_t e = (m * rows + i) * columns + j;
          const bool keep = keep_upper ? j - i >= k : j - i <= k;
          if (keep) std::memcpy(dst + e * n, src + e * n, size);
          else std::memset(dst + e * n, 0, size);
        }
      }
    }
    return {};
  });
}

}  // namespace cloister::engine

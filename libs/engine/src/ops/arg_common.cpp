#include "ops/arg_common.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_arg_reduce(NodeContext& context, bool maximum) {
  auto x = context.required_input(0);
  if (!x) return std::unexpected(x.error());
  const DataType type = (*x)->dtype;
  if (!is_numeric(type)) return context.unsupported_type(type);
  const Shape& shape = (*x)->shape;
  auto axis_attribute = context.attribute_int("axis", 0);
  if (!axis_attribute) return std::unexpected(axis_attribute.error());
  auto axis = context.axis(*axis_attribute, std::max<std::size_t>(shape.size(), 1));
  if (!axis) return std::unexpected(axis.error());
  auto keepdims = context.attribute_int("keepdims", 1);
  if (!keepdims) return std::unexpected(keepdims.error());
  auto last = context.attribute_int("select_last_index", 0);
  if (!last) return std::unexpected(last.error());
  if (shape.empty()) return context.invalid("input must have rank 1 or more");
  const auto a = static_cast<std::size_t>(*axis);
  if (shape[a] == 0) return context.invalid("cannot take the arg of an empty axis");
  Shape result;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i != a) result.push_back(shape[i]);
    else if (*keepdims) result.push_back(1);
  }
  const std::int64_t outer = product(shape, 0, a), length = shape[a], inner = product(shape, a + 1, shape.size());
  const bool select_last = *last != 0;
  Result<std::unique_ptr<Kernel>> kernel = context.unsupported_type(type);
  dispatch_type(type, [&]<class T>() {
    if constexpr (!std::is_same_v<T, bool>) {
      kernel = make_kernel({output(DataType::int64, result)}, [=](const RunContext& run) -> Status {
        const T* in = run.in<T>(0);
        auto* out = run.out<std::int64_t>(0);
        for (std::int64_t o = 0; o < outer; ++o) {
          for (std::int64_t i = 0; i < inner; ++i) {
            const T* p = in + o * length * inner + i;
            std::int64_t best = 0;
            for (std::int64_t k = 1; k < length; ++k) {
              const T v = p[k * inner], b = p[best * inner];
              bool better = maximum ? (select_last ? v >= b : v > b) : (select_last ? v <= b : v < b);
              if (better) best = k;
            }
            out[o * inner + i] = best;
          }
        }
        return {};
      });
    }
  });
  return kernel;
}

}  // namespace cloister::engine

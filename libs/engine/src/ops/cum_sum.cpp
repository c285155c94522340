// CumSum: cumulative sum along an axis (exclusive, reverse).
#include "ops/common.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_cum_sum(NodeContext& context) {
  auto x = context.required_input(0);
  if (!x) return std::unexpected(x.error());
  const DataType type = (*x)->dtype;
  if (!is_numeric(type)) return context.unsupported_type(type);
  auto axis_values = context.constant_ints(1);
  if (!axis_values) return std::unexpected(axis_values.error());
  if (axis_values->size() != 1) return context.invalid("axis must be a scalar");
  const Shape& s = (*x)->shape;
  auto axis = context.axis((*axis_values)[0], s.size());
  if (!axis) return std::unexpected(axis.error());
  auto exclusive = context.attribute_int("exclusive", 0);
  if (!exclusive) return std::unexpected(exclusive.error());
  auto reverse = context.attribute_int("reverse", 0);
  if (!reverse) return std::unexpected(reverse.error());
  const auto a = static_cast<std::size_t>(*axis);
  const std::int64_t outer = product(s, 0, a), length = s[a], inner = product(s, a + 1, s.size());
  const bool is_exclusive = *exclusive != 0, is_reverse = *reverse != 0;
  Result<std::unique_ptr<Kernel>> kernel = context.unsupported_type(type);
  dispatch_type(type, [&]<class T>() {
    if constexpr (!std::is_same_v<T, bool>) {
      kernel = make_kernel({output(type, s)}, [=](const RunContext& run) -> Status {
        const T* in = run.in<T>(0);
        T* out = run.out<T>(0);
        for (std::int64_t o = 0; o < outer; ++o) {
          for (std::int64_t i = 0; i < inner; ++i) {
            T sum = T(0);
            for (std::int64_t step = 0; step < length; ++step) {
              const std::int64_t k = is_reverse ? length - 1 - step : step;
              const std::int64_t e = (o * length + k) * inner + i;
              if (is_exclusive) {
                out[e] = sum;
                sum = static_cast<T>(sum + in[e]);
              } else {
                sum = static_cast<T>(sum + in[e]);
                out[e] = sum;
              }
            }
          }
        }
        return {};
      });
    }
  });
  return kernel;
}

}  // namespace cloister::engine

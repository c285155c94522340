// Range: start, start + delta, ... up to (not including) limit; the inputs must be known at
// compile time (they set the output length).
#include "ops/common.h"
#include "ops/operators.h"

#include <cmath>

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_range(NodeContext& context) {
  for (std::size_t i = 0; i < 3; ++i) {
    auto input = context.required_input(i);
    if (!input) return std::unexpected(input.error());
    if (!(*input)->constant) return context.needs_constant(i);
    if ((*input)->elements() != 1) return context.invalid("start, limit and delta must be scalars");
  }
  const DataType type = context.input(0)->dtype;
  if (!is_numeric(type)) return context.unsupported_type(type);
  const double start = load_as_double(type, context.input(0)->constant->bytes(), 0);
  const double limit = load_as_double(type, context.input(1)->constant->bytes(), 0);
  const double delta = load_as_double(type, context.input(2)->constant->bytes(), 0);
  if (delta == 0) return context.invalid("delta must not be 0");
  const double steps = std::ceil((limit - start) / delta);
  if (!(steps < 1e15)) return context.invalid("the range is too long");
  const auto count = static_cast<std::int64_t>(std::max(0.0, steps));
  Result<std::unique_ptr<Kernel>> result = context.unsupported_type(type);
  dispatch_type(type, [&]<class T>() {
    if constexpr (!std::is_same_v<T, bool>) result = make_kernel({output(type, {count})}, [count](const RunContext& run) -> Status {
      const T first = *run.in<T>(0);
      const T step = *run.in<T>(2);
      T* out = run.out<T>(0);
      for (std::int64_t i = 0; i < count; ++i) out[i] = static_cast<T>(first + static_cast<T>(i) * step);
      return {};
    });
  });
  return result;
}

}  // namespace cloister::engine

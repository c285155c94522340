// Hardmax: 1 at the first maximum along the axis, 0 elsewhere.
#include "ops/operators.h"
#include "ops/softmax_common.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_hardmax(NodeContext& context) {
  auto x = context.required_input(0);
  if (!x) return std::unexpected(x.error());
  const DataType type = (*x)->dtype;
  if (!is_float(type)) return context.unsupported_type(type);
  auto geometry = softmax_geometry(context, (*x)->shape);
  if (!geometry) return std::unexpected(geometry.error());
  Result<std::unique_ptr<Kernel>> result = context.unsupported_type(type);
  dispatch_type(type, [&]<class T>() {
    if constexpr (std::is_floating_point_v<T>) {
      result = make_kernel({output(type, (*x)->shape)}, [g = *geometry](const RunContext& run) -> Status {
        const T* in = run.in<T>(0);
        T* out = run.out<T>(0);
        for (std::int64_t o = 0; o < g.outer; ++o) {
          for (std::int64_t i = 0; i < g.inner; ++i) {
            const std::int64_t base = o * g.axis * g.inner + i;
            std::int64_t best = 0;
            for (std::int64_t k = 0; k < g.axis; ++k) {
              out[base + k * g.inner] = T(0);
              if (in[base + k * g.inner] > in[base + best * g.inner]) best = k;
            }
            if (g.axis > 0) out[base + best * g.inner] = T(1);
          }
        }
        return {};
      });
    }
  });
  return result;
}

}  // namespace cloister::engine

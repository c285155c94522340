// Pow: z = x ^ y with broadcasting; y may have another numeric type than x.
#include "ops/elementwise.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_pow(NodeContext& context) {
  auto x = context.required_input(0);
  if (!x) return std::unexpected(x.error());
  auto y = context.required_input(1);
  if (!y) return std::unexpected(y.error());
  const DataType base_type = (*x)->dtype;
  const DataType exponent_type = (*y)->dtype;
  if (!is_numeric(base_type)) return context.unsupported_type(base_type);
  if (!is_numeric(exponent_type)) return context.unsupported_type(exponent_type);
  auto shape = broadcast_shapes(context, (*x)->shape, (*y)->shape);
  if (!shape) return std::unexpected(shape.error());
  const Shape* inputs[] = {&(*x)->shape, &(*y)->shape};
  auto loop = std::make_shared<const BroadcastLoop>(*shape, inputs);
  Result<std::unique_ptr<Kernel>> result = context.unsupported_type(base_type);
  dispatch_type(base_type, [&]<class T>() {
    if constexpr (type_in_set<T, kNumericTypes>()) {
      dispatch_type(exponent_type, [&]<class U>() {
        if constexpr (type_in_set<U, kNumericTypes>()) {
          result = make_kernel({output(base_type, *shape)}, [loop](const RunContext& run) -> Status {
            const T* a = run.in<T>(0);
            const U* b = run.in<U>(1);
            T* z = run.out<T>(0);
            const std::int64_t inner = loop->inner();
            const std::int64_t sa = loop->inner_stride(0);
            const std::int64_t sb = loop->inner_stride(1);
            parallel_for(loop->outer(), inner, [&](std::int64_t index) {
              const T* pa = a + loop->input_offset(0, index);
              const U* pb = b + loop->input_offset(1, index);
              T* pz = z + index * inner;
              for (std::int64_t i = 0; i < inner; ++i) {
                if constexpr (std::is_floating_point_v<T>) {
                  pz[i] = static_cast<T>(std::pow(pa[i * sa], static_cast<T>(pb[i * sb])));
                } else {
                  double value = std::pow(static_cast<double>(pa[i * sa]), static_cast<double>(pb[i * sb]));
                  pz[i] = std::isfinite(value) && std::abs(value) < 9.2e18 ? static_cast<T>(static_cast<std::int64_t>(value)) : T(0);
                }
              }
            });
            return {};
          });
        }
      });
    }
  });
  return result;
}

}  // namespace cloister::engine

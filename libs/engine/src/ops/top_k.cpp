// TopK: the k largest (or smallest) values along an axis and their indices; equal values keep
// the lower index first. k must be known at compile time.
#include "ops/common.h"
#include "ops/operators.h"

#include <algorithm>
#include <numeric>

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_top_k(NodeContext& context) {
  auto x = context.required_input(0);
  if (!x) return std::unexpected(x.error());
  const DataType type = (*x)->dtype;
  if (!is_numeric(type)) return context.unsupported_type(type);
  const Shape& s = (*x)->shape;
  std::int64_t k = 0;
  if (context.opset() < 10) {
    auto attribute = context.required_attribute_int("k");
    if (!attribute) return std::unexpected(attribute.error());
    k = *attribute;
  } else {
    auto values = context.constant_ints(1);
    if (!values) return std::unexpected(values.error());
    if (values->size() != 1) return context.invalid("K must have one element");
    k = (*values)[0];
  }
  auto axis_attribute = context.attribute_int("axis", -1);
  if (!axis_attribute) return std::unexpected(axis_attribute.error());
  auto axis = context.axis(*axis_attribute, s.size());
  if (!axis) return std::unexpected(axis.error());
  auto largest = context.attribute_int("largest", 1);
  if (!largest) return std::unexpected(largest.error());
  const auto a = static_cast<std::size_t>(*axis);
  if (k < 0 || k > s[a]) return context.invalid("k " + std::to_string(k) + " is out of range");
  Shape out = s;
  out[a] = k;
  const std::int64_t outer = product(s, 0, a), length = s[a], inner = product(s, a + 1, s.size());
  const bool want_largest = *largest != 0;
  Result<std::unique_ptr<Kernel>> kernel = context.unsupported_type(type);
  dispatch_type(type, [&]<class T>() {
    if constexpr (!std::is_same_v<T, bool>) {
      kernel = make_kernel({output(type, out), output(DataType::int64, out)}, [=](const RunContext& run) -> Status {
        const T* in = run.in<T>(0);
        T* values = run.out<T>(0);
        auto* indices = run.outputs.size() > 1 ? run.out<std::int64_t>(1) : nullptr;
        std::vector<std::int64_t> order(static_cast<std::size_t>(length));
        for (std::int64_t o = 0; o < outer; ++o) {
          for (std::int64_t i = 0; i < inner; ++i) {
            const T* p = in + o * length * inner + i;
            std::iota(order.begin(), order.end(), 0);
            std::stable_sort(order.begin(), order.end(), [&](std::int64_t l, std::int64_t r) {
              return want_largest ? p[l * inner] > p[r * inner] : p[l * inner] < p[r * inner];
            });
            for (std::int64_t j = 0; j < k; ++j) {
              const std::int64_t e = (o * k + j) * inner + i;
              values[e] = p[order[static_cast<std::size_t>(j)] * inner];
              if (indices) indices[e] = order[static_cast<std::size_t>(j)];
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

// OneHot: indices → one-hot along a new axis of length depth (known at compile time), with
// values [off, on]; negative indices count from the end, others out of range give all off.
#include "ops/common.h"
#include "ops/operators.h"

#include <cmath>

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_one_hot(NodeContext& context) {
  auto indices = context.required_input(0);
  if (!indices) return std::unexpected(indices.error());
  auto depth_values = context.constant_floats(1);
  if (!depth_values) return std::unexpected(depth_values.error());
  if (depth_values->size() != 1) return context.invalid("depth must be a scalar");
  const double depth_value = (*depth_values)[0];
  if (!(depth_value >= 1 && depth_value <= static_cast<double>(std::int64_t{1} << 31))) return context.invalid("depth must be positive");
  const auto depth = static_cast<std::int64_t>(depth_value);
  auto values = context.required_input(2);
  if (!values) return std::unexpected(values.error());
  if ((*values)->elements() != 2) return context.invalid("values must have two elements");
  const Shape& s = (*indices)->shape;
  auto axis_attribute = context.attribute_int("axis", -1);
  if (!axis_attribute) return std::unexpected(axis_attribute.error());
  auto axis = context.axis(*axis_attribute, s.size() + 1);
  if (!axis) return std::unexpected(axis.error());
  const auto a = static_cast<std::size_t>(*axis);
  Shape out(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(a));
  out.push_back(depth);
  out.insert(out.end(), s.begin() + static_cast<std::ptrdiff_t>(a), s.end());
  const DataType index_type = (*indices)->dtype, value_type = (*values)->dtype;
  if (!is_numeric(index_type)) return context.unsupported_type(index_type);
  const std::int64_t outer = product(s, 0, a), inner = product(s, a, s.size());
  const std::size_t size = data_type_size(value_type);
  return make_kernel({output(value_type, out)}, [=](const RunContext& run) -> Status {
    const auto* on_off = static_cast<const std::byte*>(run.inputs[2]);
    auto* dst = static_cast<std::byte*>(run.outputs[0]);
    const auto n = static_cast<std::int64_t>(size);
    for (std::int64_t o = 0; o < outer; ++o) {
      for (std::int64_t d = 0; d < depth; ++d) {
        for (std::int64_t i = 0; i < inner; ++i) {
          const double raw = load_as_double(index_type, run.inputs[0], o * inner + i);
          auto index = std::abs(raw) < 9e18 ? static_cast<std::int64_t>(raw) : std::int64_t{-1} - depth;
          if (index < 0) index += depth;
          const std::int64_t e = (o * depth + d) * inner + i;
          std::memcpy(dst + e * n, on_off + (index == d ? n : 0), size);
        }
      }
    }
    return {};
  });
}

}  // namespace cloister::engine

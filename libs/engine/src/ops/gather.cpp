// Gather: picks slices of the data along an axis by (possibly negative) indices; indices out of
// range are an input error at run time.
#include "ops/common.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_gather(NodeContext& context) {
  auto data = context.required_input(0);
  if (!data) return std::unexpected(data.error());
  auto indices = context.required_input(1);
  if (!indices) return std::unexpected(indices.error());
  const DataType index_type = (*indices)->dtype;
  if (index_type != DataType::int64 && index_type != DataType::int32) return context.unsupported_type(index_type);
  const Shape& shape = (*data)->shape;
  if (shape.empty()) return context.invalid("data must have rank 1 or more");
  auto axis_attribute = context.attribute_int("axis", 0);
  if (!axis_attribute) return std::unexpected(axis_attribute.error());
  auto axis = context.axis(*axis_attribute, shape.size());
  if (!axis) return std::unexpected(axis.error());
  const auto a = static_cast<std::size_t>(*axis);
  Shape result(shape.begin(), shape.begin() + static_cast<std::ptrdiff_t>(a));
  result.insert(result.end(), (*indices)->shape.begin(), (*indices)->shape.end());
  result.insert(result.end(), shape.begin() + static_cast<std::ptrdiff_t>(a) + 1, shape.end());
  const std::int64_t outer = product(shape, 0, a);
  const std::int64_t dimension = shape[a];
  const std::int64_t inner = product(shape, a + 1, shape.size()) * static_cast<std::int64_t>(data_type_size((*data)->dtype));
  const std::int64_t count = (*indices)->elements();
  return make_kernel({output((*data)->dtype, result)}, [=](const RunContext& run) -> Status {
    const auto* in = static_cast<const std::byte*>(run.inputs[0]);
    auto* out = static_cast<std::byte*>(run.outputs[0]);
    for (std::int64_t k = 0; k < count; ++k) {
      std::int64_t index = load_as_int(index_type, run.inputs[1], k);
      if (index < -dimension || index >= dimension) {
        return fail(ErrorCode::engine_input_invalid, "index " + std::to_string(index) + " is out of range [" +
                                                         std::to_string(-dimension) + ", " + std::to_string(dimension) + ")");
      }
    }
    parallel_for(outer, count * inner / 4 + 1, [&](std::int64_t o) {
      for (std::int64_t k = 0; k < count; ++k) {
        std::int64_t index = load_as_int(index_type, run.inputs[1], k);
        if (index < 0) index += dimension;
        if (inner) std::memcpy(out + (o * count + k) * inner, in + (o * dimension + index) * inner, static_cast<std::size_t>(inner));
      }
    });
    return {};
  });
}

}  // namespace cloister::engine

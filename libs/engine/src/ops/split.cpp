// Split: splits along an axis by the split sizes (attribute before opset 13, input after), or
// into equal parts (the last one smaller when num_outputs does not divide the dimension).
#include "ops/common.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_split(NodeContext& context) {
  auto x = context.required_input(0);
  if (!x) return std::unexpected(x.error());
  const Shape& shape = (*x)->shape;
  auto axis_attribute = context.attribute_int("axis", 0);
  if (!axis_attribute) return std::unexpected(axis_attribute.error());
  auto axis = context.axis(*axis_attribute, shape.size());
  if (!axis) return std::unexpected(axis.error());
  const auto a = static_cast<std::size_t>(*axis);
  const std::size_t parts = context.output_count();
  if (parts == 0) return context.invalid("at least one output is required");
  std::vector<std::int64_t> sizes;
  if (context.opset() < 13) {
    auto attribute = context.attribute_ints("split");
    if (!attribute) return std::unexpected(attribute.error());
    sizes = *attribute;
  } else if (context.has_input(1)) {
    auto values = context.constant_ints(1);
    if (!values) return std::unexpected(values.error());
    sizes = *values;
  }
  const std::int64_t dimension = shape[a];
  if (sizes.empty()) {
    const auto count = static_cast<std::int64_t>(parts);
    std::int64_t each = (dimension + count - 1) / count;
    for (std::size_t i = 0; i < parts; ++i) {
      std::int64_t begin = std::min<std::int64_t>(dimension, each * static_cast<std::int64_t>(i));
      sizes.push_back(std::min<std::int64_t>(dimension, begin + each) - begin);
    }
  }
  if (sizes.size() != parts) return context.invalid("split has " + std::to_string(sizes.size()) + " sizes for " + std::to_string(parts) + " outputs");
  std::int64_t sum = 0;
  for (auto s : sizes) {
    if (s < 0 || s > dimension) return context.invalid("split sizes must be in [0, the axis length]");
    sum += s;
  }
  if (sum != dimension) return context.invalid("split sizes add up to " + std::to_string(sum) + ", the axis has " + std::to_string(dimension));
  const std::size_t size = data_type_size((*x)->dtype);
  const std::int64_t outer = product(shape, 0, a);
  const std::int64_t inner = product(shape, a + 1, shape.size()) * static_cast<std::int64_t>(size);
  std::vector<OutputSpec> outputs;
  for (auto s : sizes) {
    Shape part = shape;
    part[a] = s;
    outputs.push_back(output((*x)->dtype, part));
  }
  return make_kernel(outputs, [sizes, outer, inner, dimension](const RunContext& run) -> Status {
    const auto* in = static_cast<const std::byte*>(run.inputs[0]);
    for (std::int64_t o = 0; o < outer; ++o) {
      std::int64_t offset = o * dimension * inner;
      for (std::size_t i = 0; i < sizes.size(); ++i) {
        const std::int64_t bytes = sizes[i] * inner;
        if (run.outputs[i] && bytes) std::memcpy(static_cast<std::byte*>(run.outputs[i]) + o * bytes, in + offset, static_cast<std::size_t>(bytes));
        offset += bytes;
      }
    }
    return {};
  });
}

}  // namespace cloister::engine

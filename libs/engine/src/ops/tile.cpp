// Tile: repeats the input along each axis.
#include "ops/common.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_tile(NodeContext& context) {
  auto x = context.required_input(0);
  if (!x) return std::unexpected(x.error());
  auto repeats = context.constant_ints(1);
  if (!repeats) return std::unexpected(repeats.error());
  const Shape& in = (*x)->shape;
  if (repeats->size() != in.size()) return context.invalid("repeats has " + std::to_string(repeats->size()) + " entries for rank " + std::to_string(in.size()));
  const auto strides = strides_of(in);
  Shape paired, result;
  std::vector<std::int64_t> input_strides;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if ((*repeats)[i] < 0) return context.invalid("repeats must not be negative");
    std::int64_t product_dimension = 0;
    if (__builtin_mul_overflow(in[i], (*repeats)[i], &product_dimension)) return context.invalid("output shape is too large");
    paired.push_back((*repeats)[i]);
    paired.push_back(in[i]);
    input_strides.push_back(0);
    input_strides.push_back(strides[i]);
    result.push_back(in[i] * (*repeats)[i]);
  }
  if (shape_element_count(result) < 0) return context.invalid("output shape is too large");
  auto copy = std::make_shared<const StridedCopy>(paired, input_strides, 0, data_type_size((*x)->dtype));
  return make_kernel({output((*x)->dtype, result)}, [copy](const RunContext& run) -> Status {
    copy->run(run.inputs[0], run.outputs[0]);
    return {};
  });
}

}  // namespace cloister::engine

// Expand: broadcasts the input to a shape (bidirectional broadcasting).
#include "ops/common.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_expand(NodeContext& context) {
  auto x = context.required_input(0);
  if (!x) return std::unexpected(x.error());
  auto requested = context.constant_ints(1);
  if (!requested) return std::unexpected(requested.error());
  for (auto d : *requested) {
    if (d < 0) return context.invalid("shape " + shape_to_string(*requested) + " has a negative dimension");
  }
  auto shape = broadcast_shapes(context, (*x)->shape, Shape(requested->begin(), requested->end()));
  if (!shape) return std::unexpected(shape.error());
  const Shape& in = (*x)->shape;
  const auto strides = strides_of(in);
  std::vector<std::int64_t> input_strides(shape->size(), 0);
  const std::size_t offset = shape->size() - in.size();
  for (std::size_t i = 0; i < in.size(); ++i) input_strides[offset + i] = in[i] == 1 ? 0 : strides[i];
  auto copy = std::make_shared<const StridedCopy>(*shape, input_strides, 0, data_type_size((*x)->dtype));
  return make_kernel({output((*x)->dtype, *shape)}, [copy](const RunContext& run) -> Status {
    copy->run(run.inputs[0], run.outputs[0]);
    return {};
  });
}

}  // namespace cloister::engine

// Where: condition ? x : y with broadcasting of all three.
#include "ops/common.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_where(NodeContext& context) {
  std::vector<const Shape*> shapes;
  for (std::size_t i = 0; i < 3; ++i) {
    auto input = context.required_input(i);
    if (!input) return std::unexpected(input.error());
    shapes.push_back(&(*input)->shape);
  }
  if (context.input(0)->dtype != DataType::boolean) return context.invalid("condition must be bool");
  const DataType type = context.input(1)->dtype;
  if (context.input(2)->dtype != type) return context.invalid("x and y types differ");
  auto shape = broadcast_shapes(context, shapes);
  if (!shape) return std::unexpected(shape.error());
  auto loop = std::make_shared<const BroadcastLoop>(*shape, shapes);
  const std::size_t size = data_type_size(type);
  return make_kernel({output(type, *shape)}, [loop, size](const RunContext& run) -> Status {
    const bool* c = run.in<bool>(0);
    const auto* x = static_cast<const std::byte*>(run.inputs[1]);
    const auto* y = static_cast<const std::byte*>(run.inputs[2]);
    auto* z = static_cast<std::byte*>(run.outputs[0]);
    const std::int64_t inner = loop->inner();
    const std::int64_t sc = loop->inner_stride(0), sx = loop->inner_stride(1), sy = loop->inner_stride(2);
    const auto n = static_cast<std::int64_t>(size);
    parallel_for(loop->outer(), inner, [&](std::int64_t index) {
      const bool* pc = c + loop->input_offset(0, index);
      const std::byte* px = x + loop->input_offset(1, index) * n;
      const std::byte* py = y + loop->input_offset(2, index) * n;
      std::byte* pz = z + index * inner * n;
      for (std::int64_t i = 0; i < inner; ++i) {
        std::memcpy(pz + i * n, pc[i * sc] ? px + i * sx * n : py + i * sy * n, size);
      }
    });
    return {};
  });
}

}  // namespace cloister::engine

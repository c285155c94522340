// ConstantOfShape: a tensor of the given shape filled with the value attribute (default float 0).
#include "ops/common.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_constant_of_shape(NodeContext& context) {
  auto dims = context.constant_ints(0);
  if (!dims) return std::unexpected(dims.error());
  for (auto d : *dims) {
    if (d < 0) return context.invalid("shape " + shape_to_string(*dims) + " has a negative dimension");
  }
  std::shared_ptr<const Tensor> value = std::make_shared<const Tensor>(Tensor::scalar<float>(0.0f));
  if (const Attribute* attribute = context.node().attribute("value")) {
    if (attribute->kind != Attribute::Kind::tensor || !attribute->t || attribute->t->element_count() != 1) {
      return context.invalid("value must be a one-element tensor");
    }
    value = attribute->t;
  }
  const DataType type = value->dtype();
  const std::size_t size = data_type_size(type);
  const std::int64_t count = shape_element_count(*dims);
  return make_kernel({output(type, *dims)}, [value, size, count](const RunContext& run) -> Status {
    auto* out = static_cast<std::byte*>(run.outputs[0]);
    for (std::int64_t i = 0; i < count; ++i) std::memcpy(out + i * static_cast<std::int64_t>(size), value->bytes(), size);
    return {};
  });
}

}  // namespace cloister::engine

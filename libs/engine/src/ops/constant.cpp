// Constant: the tensor of its value / value_float(s) / value_int(s) attribute (folded at load).
#include "ops/common.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_constant(NodeContext& context) {
  std::shared_ptr<const Tensor> tensor;
  const Node& node = context.node();
  if (node.attributes.size() != 1) return context.invalid("exactly one value attribute is required");
  const auto& [name, attribute] = *node.attributes.begin();
  if (name == "value" && attribute.kind == Attribute::Kind::tensor) {
    tensor = attribute.t;
  } else if (name == "value_float" && attribute.kind == Attribute::Kind::float_) {
    tensor = std::make_shared<const Tensor>(Tensor::scalar<float>(attribute.f));
  } else if (name == "value_floats" && attribute.kind == Attribute::Kind::floats) {
    tensor = std::make_shared<const Tensor>(Tensor::from_values<float>({static_cast<std::int64_t>(attribute.floats.size())}, attribute.floats));
  } else if (name == "value_int" && attribute.kind == Attribute::Kind::int_) {
    tensor = std::make_shared<const Tensor>(Tensor::scalar<std::int64_t>(attribute.i));
  } else if (name == "value_ints" && attribute.kind == Attribute::Kind::ints) {
    tensor = std::make_shared<const Tensor>(Tensor::from_values<std::int64_t>({static_cast<std::int64_t>(attribute.ints.size())}, attribute.ints));
  } else if (name == "value_string" || name == "value_strings") {
    return context.error(ErrorCode::engine_unsupported_data_type, "unsupported data type string");
  } else if (name == "sparse_value") {
    return context.unsupported("sparse constants are not supported");
  } else {
    return context.invalid("attribute '" + name + "' is not a valid Constant value");
  }
  if (!tensor) return context.invalid("the value attribute holds no tensor");
  return make_kernel({output(tensor->dtype(), tensor->shape())}, [tensor](const RunContext& run) -> Status {
    if (tensor->byte_size()) std::memcpy(run.outputs[0], tensor->bytes(), tensor->byte_size());
    return {};
  });
}

}  // namespace cloister::engine

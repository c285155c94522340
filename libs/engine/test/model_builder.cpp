#include "model_builder.h"

namespace cloister::engine::test {

Attr Attr::integer(const std::string& name, std::int64_t value) {
  Attr a;
  a.proto.set_name(name);
  a.proto.set_type(onnx::AttributeProto::INT);
  a.proto.set_i(value);
  return a;
}

Attr Attr::real(const std::string& name, float value) {
  Attr a;
  a.proto.set_name(name);
  a.proto.set_type(onnx::AttributeProto::FLOAT);
  a.proto.set_f(value);
  return a;
}

Attr Attr::text(const std::string& name, const std::string& value) {
  Attr a;
  a.proto.set_name(name);
  a.proto.set_type(onnx::AttributeProto::STRING);
  a.proto.set_s(value);
  return a;
}

Attr Attr::integers(const std::string& name, std::vector<std::int64_t> values) {
  Attr a;
  a.proto.set_name(name);
  a.proto.set_type(onnx::AttributeProto::INTS);
  for (auto v : values) a.proto.add_ints(v);
  return a;
}

Attr Attr::reals(const std::string& name, std::vector<float> values) {
  Attr a;
  a.proto.set_name(name);
  a.proto.set_type(onnx::AttributeProto::FLOATS);
  for (auto v : values) a.proto.add_floats(v);
  return a;
}

Attr Attr::tensor(const std::string& name, const Tensor& value) {
  Attr a;
  a.proto.set_name(name);
  a.proto.set_type(onnx::AttributeProto::TENSOR);
  *a.proto.mutable_t() = to_proto("", value);
  return a;
}

onnx::TensorProto to_proto(const std::string& name, const Tensor& tensor) {
  onnx::TensorProto proto;
  proto.set_name(name);
  proto.set_data_type(data_type_to_onnx(tensor.dtype()));
  for (auto d : tensor.shape()) proto.add_dims(d);
  proto.set_raw_data(std::string(reinterpret_cast<const char*>(tensor.bytes()), tensor.byte_size()));
  return proto;
}

ModelBuilder::ModelBuilder(int opset) {
  model_.set_ir_version(8);
  model_.set_producer_name("cloister-test");
  auto* import = model_.add_opset_import();
  import->set_domain("");
  import->set_version(opset);
  model_.mutable_graph()->set_name("test");
}

ModelBuilder& ModelBuilder::input(const std::string& name, std::vector<std::int64_t> dims, int elem_type) {
  auto* value = model_.mutable_graph()->add_input();
  value->set_name(name);
  auto* tensor = value->mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(elem_type);
  auto* shape = tensor->mutable_shape();
  for (auto d : dims) {
    auto* dim = shape->add_dim();
    if (d < 0) dim->set_dim_param("N");
    else dim->set_dim_value(d);
  }
  return *this;
}

ModelBuilder& ModelBuilder::output(const std::string& name, std::vector<std::int64_t> dims, int elem_type) {
  auto* value = model_.mutable_graph()->add_output();
  value->set_name(name);
  auto* tensor = value->mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(elem_type);
  auto* shape = tensor->mutable_shape();
  for (auto d : dims) {
    auto* dim = shape->add_dim();
    if (d >= 0) dim->set_dim_value(d);
  }
  return *this;
}

ModelBuilder& ModelBuilder::initializer(const std::string& name, const Tensor& tensor) {
  *model_.mutable_graph()->add_initializer() = to_proto(name, tensor);
  return *this;
}

ModelBuilder& ModelBuilder::node(const std::string& op_type, std::vector<std::string> inputs, std::vector<std::string> outputs,
                                 std::vector<Attr> attributes, const std::string& name) {
  auto* node = model_.mutable_graph()->add_node();
  node->set_op_type(op_type);
  node->set_name(name.empty() ? outputs.front() + "_node" : name);
  for (const auto& input : inputs) node->add_input(input);
  for (const auto& output : outputs) node->add_output(output);
  for (const auto& attribute : attributes) *node->add_attribute() = attribute.proto;
  return *this;
}

std::string ModelBuilder::bytes() const { return model_.SerializeAsString(); }

Tensor random_tensor(Shape shape, std::uint32_t seed) {
  Tensor tensor(DataType::float32, std::move(shape));
  std::uint32_t state = seed * 2654435761u + 1;
  for (auto& value : std::span(tensor.data<float>(), static_cast<std::size_t>(tensor.element_count()))) {
    state = state * 1664525u + 1013904223u;
    value = static_cast<float>(state >> 8) / static_cast<float>(1 << 24) * 2.0f - 1.0f;
  }
  return tensor;
}

}  // namespace cloister::engine::test

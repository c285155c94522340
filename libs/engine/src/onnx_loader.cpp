#include "onnx_loader.h"

#include "ops/registry.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <limits>
#include <unordered_map>
#include <unordered_set>

namespace cloister::engine {

namespace {

constexpr std::size_t kMaxRank = 16;
constexpr std::size_t kKeepInitializerBytes = 4096;

std::string normalize_domain(const std::string& domain) { return domain == "ai.onnx" ? std::string() : domain; }

std::string node_label(const onnx::NodeProto& node) {
  std::string name = node.name();
  if (name.empty() && node.output_size() > 0) name = node.output(0);
  std::string label = "node '" + name + "' (";
  if (!node.domain().empty() && node.domain() != "ai.onnx") label += node.domain() + ":";
  return label + node.op_type() + ")";
}

bool uses_external_data(const onnx::TensorProto& tensor) {
  return tensor.data_location() == onnx::TensorProto::EXTERNAL || tensor.external_data_size() > 0;
}

Status check_no_external_data(const onnx::GraphProto& graph, int depth);

Status check_attributes_no_external(const onnx::NodeProto& node, int depth) {
  for (const auto& attribute : node.attribute()) {
    if (attribute.has_t() && uses_external_data(attribute.t())) {
      return fail(ErrorCode::engine_model_invalid, node_label(node) + ": external tensor data is not supported");
    }
    for (const auto& tensor : attribute.tensors()) {
      if (uses_external_data(tensor)) {
        return fail(ErrorCode::engine_model_invalid, node_label(node) + ": external tensor data is not supported");
      }
    }
    if (attribute.has_g()) {
      if (auto status = check_no_external_data(attribute.g(), depth + 1); !status) return status;
    }
    for (const auto& graph : attribute.graphs()) {
      if (auto status = check_no_external_data(graph, depth + 1); !status) return status;
    }
  }
  return {};
}

Status check_no_external_data(const onnx::GraphProto& graph, int depth) {
  if (depth > 8) return fail(ErrorCode::engine_model_invalid, "subgraphs nested too deeply");
  for (const auto& tensor : graph.initializer()) {
    if (uses_external_data(tensor)) {
      return fail(ErrorCode::engine_model_invalid, "initializer '" + tensor.name() + "': external tensor data is not supported");
    }
  }
  for (const auto& node : graph.node()) {
    if (auto status = check_attributes_no_external(node, depth); !status) return status;
  }
  return {};
}

template <class Field>
void copy_converted(const Field& field, Tensor& tensor) {
  switch (tensor.dtype()) {
    case DataType::float32: std::copy(field.begin(), field.end(), tensor.data<float>()); break;
    case DataType::float64: std::copy(field.begin(), field.end(), tensor.data<double>()); break;
    case DataType::int8:
      for (int i = 0; i < field.size(); ++i) tensor.data<std::int8_t>()[i] = static_cast<std::int8_t>(field[i]);
      break;
    case DataType::uint8:
      for (int i = 0; i < field.size(); ++i) tensor.data<std::uint8_t>()[i] = static_cast<std::uint8_t>(field[i]);
      break;
    case DataType::int16:
      for (int i = 0; i < field.size(); ++i) tensor.data<std::int16_t>()[i] = static_cast<std::int16_t>(field[i]);
      break;
    case DataType::uint16:
    case DataType::float16:
    case DataType::bfloat16: {
      auto* out = reinterpret_cast<std::uint16_t*>(tensor.bytes());
      for (int i = 0; i < field.size(); ++i) out[i] = static_cast<std::uint16_t>(field[i]);
      break;
    }
    case DataType::int32:
      for (int i = 0; i < field.size(); ++i) tensor.data<std::int32_t>()[i] = static_cast<std::int32_t>(field[i]);
      break;
    case DataType::uint32:
      for (int i = 0; i < field.size(); ++i) tensor.data<std::uint32_t>()[i] = static_cast<std::uint32_t>(field[i]);
      break;
    case DataType::int64:
      for (int i = 0; i < field.size(); ++i) tensor.data<std::int64_t>()[i] = static_cast<std::int64_t>(field[i]);
      break;
    case DataType::uint64:
      for (int i = 0; i < field.size(); ++i) tensor.data<std::uint64_t>()[i] = static_cast<std::uint64_t>(field[i]);
      break;
    case DataType::boolean:
      for (int i = 0; i < field.size(); ++i) tensor.data<bool>()[i] = field[i] != 0;
      break;
  }
}

Result<Attribute> convert_attribute(const onnx::AttributeProto& proto, std::size_t max_bytes) {
  Attribute attribute;
  switch (proto.type()) {
    case onnx::AttributeProto::INT: attribute.kind = Attribute::Kind::int_; attribute.i = proto.i(); break;
    case onnx::AttributeProto::FLOAT: attribute.kind = Attribute::Kind::float_; attribute.f = proto.f(); break;
    case onnx::AttributeProto::STRING: attribute.kind = Attribute::Kind::string; attribute.s = proto.s(); break;
    case onnx::AttributeProto::INTS:
      attribute.kind = Attribute::Kind::ints;
      attribute.ints.assign(proto.ints().begin(), proto.ints().end());
      break;
    case onnx::AttributeProto::FLOATS:
      attribute.kind = Attribute::Kind::floats;
      attribute.floats.assign(proto.floats().begin(), proto.floats().end());
      break;
    case onnx::AttributeProto::STRINGS:
      attribute.kind = Attribute::Kind::strings;
      attribute.strings.assign(proto.strings().begin(), proto.strings().end());
      break;
    case onnx::AttributeProto::TENSOR: {
      attribute.kind = Attribute::Kind::tensor;
      auto tensor = tensor_from_proto(proto.t(), max_bytes);
      if (!tensor) return std::unexpected(tensor.error());
      attribute.t = std::make_shared<const Tensor>(std::move(*tensor));
      break;
    }
    case onnx::AttributeProto::GRAPH:
    case onnx::AttributeProto::GRAPHS: attribute.kind = Attribute::Kind::graph; break;
    default: attribute.kind = Attribute::Kind::other; break;
  }
  return attribute;
}

Status run_onnx_checker(const onnx::ModelProto& model) {
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& error) {
    return fail(ErrorCode::engine_model_invalid, std::string("ONNX checker: ") + error.what());
  } catch (...) {
    return fail(ErrorCode::engine_model_invalid, "ONNX checker failed");
  }
  return {};
}

void read_type(const onnx::TypeProto& type, Value& value) {
  if (!type.has_tensor_type()) return;
  DataType dtype;
  if (data_type_from_onnx(type.tensor_type().elem_type(), dtype)) value.declared_type = dtype;
  if (!type.tensor_type().has_shape()) return;
  Shape shape;
  std::vector<std::string> names;
  for (const auto& dimension : type.tensor_type().shape().dim()) {
    if (dimension.has_dim_value() && dimension.dim_value() >= 0) {
      shape.push_back(dimension.dim_value());
      names.emplace_back();
    } else {
      shape.push_back(-1);
      names.push_back(dimension.has_dim_param() ? dimension.dim_param() : std::string());
    }
  }
  value.declared_shape = std::move(shape);
  value.dimension_names = std::move(names);
}

std::string describe_type(const onnx::TypeProto& type) {
  if (type.has_tensor_type()) {
    int element = type.tensor_type().elem_type();
    if (element == onnx::TensorProto::STRING) return "string";
    if (element == onnx::TensorProto::COMPLEX64) return "complex64";
    if (element == onnx::TensorProto::COMPLEX128) return "complex128";
    return "tensor element type " + std::to_string(element);
  }
  if (type.has_sequence_type()) return "sequence";
  if (type.has_map_type()) return "map";
  if (type.has_optional_type()) return "optional";
  if (type.has_sparse_tensor_type()) return "sparse_tensor";
  return "unknown type";
}

}  // namespace

Result<Tensor> tensor_from_proto(const onnx::TensorProto& proto, std::size_t max_bytes) {
  const std::string label = proto.name().empty() ? "tensor" : "tensor '" + proto.name() + "'";
  DataType dtype;
  if (!data_type_from_onnx(proto.data_type(), dtype)) {
    std::string name = proto.data_type() == onnx::TensorProto::STRING ? "string"
                       : onnx::TensorProto::DataType_IsValid(proto.data_type())
                           ? onnx::TensorProto::DataType_Name(static_cast<onnx::TensorProto::DataType>(proto.data_type()))
                           : std::to_string(proto.data_type());
    return fail(ErrorCode::engine_unsupported_data_type, label + ": unsupported data type " + name);
  }
  if (uses_external_data(proto)) return fail(ErrorCode::engine_model_invalid, label + ": external tensor data is not supported");
  if (proto.has_segment()) return fail(ErrorCode::engine_unsupported_feature, label + ": segmented tensors are not supported");
  if (static_cast<std::size_t>(proto.dims_size()) > kMaxRank) return fail(ErrorCode::engine_model_invalid, label + ": rank too large");
  Shape shape(proto.dims().begin(), proto.dims().end());
  std::int64_t count = shape_element_count(shape);
  if (count < 0) return fail(ErrorCode::engine_model_invalid, label + ": invalid dimensions " + shape_to_string(shape));
  std::size_t element = data_type_size(dtype);
  if (static_cast<std::uint64_t>(count) > max_bytes / element) {
    return fail(ErrorCode::engine_limit_exceeded, label + ": " + shape_to_string(shape) + " exceeds the tensor size limit");
  }
  std::size_t bytes = static_cast<std::size_t>(count) * element;
  if (proto.has_raw_data()) {
    if (proto.raw_data().size() != bytes) {
      return fail(ErrorCode::engine_model_invalid, label + ": raw_data has " + std::to_string(proto.raw_data().size()) +
                                                       " bytes, its shape needs " + std::to_string(bytes));
    }
    return Tensor::from_bytes(dtype, std::move(shape), std::as_bytes(std::span(proto.raw_data().data(), bytes)));
  }
  Tensor tensor(dtype, std::move(shape));
  auto check = [&](int size) -> Status {
    if (static_cast<std::int64_t>(size) != count) {
      return fail(ErrorCode::engine_model_invalid, label + ": has " + std::to_string(size) + " values, its shape needs " +
                                                       std::to_string(count));
    }
    return {};
  };
  Status status;
  switch (dtype) {
    case DataType::float32:
      status = check(proto.float_data_size());
      if (status) copy_converted(proto.float_data(), tensor);
      break;
    case DataType::float64:
      status = check(proto.double_data_size());
      if (status) copy_converted(proto.double_data(), tensor);
      break;
    case DataType::int64:
      status = check(proto.int64_data_size());
      if (status) copy_converted(proto.int64_data(), tensor);
      break;
    case DataType::uint32:
    case DataType::uint64:
      status = check(proto.uint64_data_size());
      if (status) copy_converted(proto.uint64_data(), tensor);
      break;
    default:
      status = check(proto.int32_data_size());
      if (status) copy_converted(proto.int32_data(), tensor);
      break;
  }
  if (!status) return std::unexpected(status.error());
  return tensor;
}

Status infer_onnx_shapes(onnx::ModelProto& model) {
  try {
    onnx::ShapeInferenceOptions options(/*check_type=*/true, /*strict_mode=*/0, /*data_propagation=*/false);
    onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(), options);
  } catch (const std::exception& error) {
    return fail(ErrorCode::engine_model_invalid, std::string("ONNX shape inference: ") + error.what());
  } catch (...) {
    return fail(ErrorCode::engine_model_invalid, "ONNX shape inference failed");
  }
  return {};
}

std::string describe_node(const Graph& graph, const Node& node) {
  std::string name = node.name;
  if (name.empty() && !node.outputs.empty() && node.outputs[0] >= 0) name = graph.values[node.outputs[0]].name;
  std::string label = "node '" + name + "' (";
  if (!node.domain.empty()) label += node.domain + ":";
  return label + node.op_type + ")";
}

namespace {

constexpr int kRecursionLimit = 64;

Result<std::shared_ptr<onnx::ModelProto>> parse_stream(google::protobuf::io::CodedInputStream& stream) {
  auto proto = std::make_shared<onnx::ModelProto>();
  stream.SetRecursionLimit(kRecursionLimit);
  if (!proto->ParseFromCodedStream(&stream) || !stream.ConsumedEntireMessage()) {
    return fail(ErrorCode::engine_model_invalid, "the bytes are not an ONNX model (protobuf parse failed)");
  }
  return proto;
}

}  // namespace

Result<std::shared_ptr<onnx::ModelProto>> parse_onnx(std::span<const std::byte> bytes, const SessionOptions& options) {
  if (bytes.size() > options.max_model_bytes) {
    return fail(ErrorCode::engine_limit_exceeded, "the model has " + std::to_string(bytes.size()) + " bytes, more than the limit");
  }
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    return fail(ErrorCode::engine_limit_exceeded, "the model exceeds 2 GiB (protobuf limit)");
  }
  google::protobuf::io::CodedInputStream stream(reinterpret_cast<const std::uint8_t*>(bytes.data()), static_cast<int>(bytes.size()));
  return parse_stream(stream);
}

Result<std::shared_ptr<onnx::ModelProto>> parse_onnx_file(const std::filesystem::path& path, const SessionOptions& options) {
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  if (error) return fail(ErrorCode::io_error, "cannot read " + path.string() + ": " + error.message());
  if (size > options.max_model_bytes || size > static_cast<std::uintmax_t>(std::numeric_limits<int>::max())) {
    return fail(ErrorCode::engine_limit_exceeded, path.string() + " exceeds the model size limit");
  }
  int descriptor = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (descriptor < 0) return fail(ErrorCode::io_error, "cannot open " + path.string());
  google::protobuf::io::FileInputStream file(descriptor);
  file.SetCloseOnDelete(true);
  google::protobuf::io::CodedInputStream stream(&file);
  stream.SetTotalBytesLimit(static_cast<int>(std::min<std::uintmax_t>(options.max_model_bytes, std::numeric_limits<int>::max())));
  auto proto = parse_stream(stream);
  if (!proto && file.GetErrno() != 0) return fail(ErrorCode::io_error, "cannot read " + path.string());
  return proto;
}

Result<LoadedModel> load_onnx_graph(std::shared_ptr<onnx::ModelProto> proto, const SessionOptions& options) {
  onnx::ModelProto& model = *proto;
  if (!model.has_graph()) return fail(ErrorCode::engine_model_invalid, "the model has no graph");
  if (model.ir_version() < 3) {
    return fail(ErrorCode::engine_model_invalid, "IR version " + std::to_string(model.ir_version()) + " is not supported (3 or later)");
  }
  std::unordered_map<std::string, int> opsets;
  for (const auto& opset : model.opset_import()) opsets[normalize_domain(opset.domain())] = static_cast<int>(opset.version());
  const auto& graph_proto = model.graph();
  if (static_cast<std::size_t>(graph_proto.node_size()) > options.max_nodes) {
    return fail(ErrorCode::engine_limit_exceeded, "the graph has " + std::to_string(graph_proto.node_size()) + " nodes, more than the limit");
  }
  // Unsupported operators first: that is the clearest error for a valid model we cannot run.
  std::unordered_set<std::string> local_functions;
  for (const auto& function : model.functions()) local_functions.insert(normalize_domain(function.domain()) + ":" + function.name());
  for (const auto& node : graph_proto.node()) {
    std::string domain = normalize_domain(node.domain());
    if (find_operator(domain, node.op_type()) == nullptr) {
      std::string qualified = domain.empty() ? node.op_type() : domain + ":" + node.op_type();
      if (local_functions.contains(domain + ":" + node.op_type())) {
        return fail(ErrorCode::engine_unsupported_operator,
                    node_label(node) + ": unsupported operator " + qualified + " (model-local functions are not supported)");
      }
      return fail(ErrorCode::engine_unsupported_operator, node_label(node) + ": unsupported operator " + qualified);
    }
    if (!opsets.contains(domain)) {
      return fail(ErrorCode::engine_model_invalid, node_label(node) + ": the model imports no opset for domain '" + domain + "'");
    }
  }
  auto default_opset = opsets.find("");
  if (default_opset == opsets.end()) return fail(ErrorCode::engine_model_invalid, "the model imports no default (ai.onnx) opset");
  if (default_opset->second < 1) return fail(ErrorCode::engine_model_invalid, "invalid default opset version");

  for (const auto& input : graph_proto.input()) {
    if (input.type().has_tensor_type()) {
      DataType ignored;
      if (data_type_from_onnx(input.type().tensor_type().elem_type(), ignored)) continue;
    }
    bool is_initializer = false;
    for (const auto& initializer : graph_proto.initializer()) is_initializer |= initializer.name() == input.name();
    if (!is_initializer) {
      return fail(ErrorCode::engine_unsupported_data_type, "graph input '" + input.name() + "': unsupported data type " + describe_type(input.type()));
    }
  }
  for (const auto& output : graph_proto.output()) {
    if (output.type().has_tensor_type()) {
      DataType ignored;
      if (output.type().tensor_type().elem_type() == 0 || data_type_from_onnx(output.type().tensor_type().elem_type(), ignored)) continue;
    }
    return fail(ErrorCode::engine_unsupported_data_type, "graph output '" + output.name() + "': unsupported data type " + describe_type(output.type()));
  }
  if (auto status = check_no_external_data(graph_proto, 0); !status) return std::unexpected(status.error());
  if (graph_proto.sparse_initializer_size() > 0) {
    return fail(ErrorCode::engine_unsupported_feature, "sparse initializers are not supported");
  }

  if (auto status = run_onnx_checker(model); !status) return std::unexpected(status.error());

  Graph graph;
  graph.opset = default_opset->second;
  graph.ir_version = model.ir_version();
  std::unordered_map<std::string, int> ids;
  auto add_value = [&](const std::string& name) {
    int id = static_cast<int>(graph.values.size());
    graph.values.push_back(Value{.name = name});
    ids.emplace(name, id);
    return id;
  };

  for (int index = 0; index < graph_proto.initializer_size(); ++index) {
    onnx::TensorProto& initializer = *model.mutable_graph()->mutable_initializer(index);
    if (initializer.name().empty()) return fail(ErrorCode::engine_model_invalid, "an initializer has no name");
    if (ids.contains(initializer.name())) {
      return fail(ErrorCode::engine_model_invalid, "initializer '" + initializer.name() + "' is defined twice");
    }
    auto tensor = tensor_from_proto(initializer, options.max_tensor_bytes);
    if (!tensor) return std::unexpected(tensor.error());
    // The tensor owns the data now: drop the proto's copy of large initializers (weights).
    // Small ones stay: ONNX shape inference reads shape-like constants (Reshape's shape, ...).
    if (tensor->byte_size() > kKeepInitializerBytes) {
      initializer.clear_raw_data();
      initializer.clear_float_data();
      initializer.clear_int64_data();
      initializer.clear_int32_data();
      initializer.clear_double_data();
      initializer.clear_uint64_data();
    }
    int id = add_value(initializer.name());
    graph.values[id].declared_type = tensor->dtype();
    graph.values[id].declared_shape = tensor->shape();
    graph.values[id].constant = std::make_shared<const Tensor>(std::move(*tensor));
  }
  for (const auto& input : graph_proto.input()) {
    if (ids.contains(input.name())) {
      if (graph.values[ids[input.name()]].constant) continue;  // an initializer listed as input (IR < 4)
      return fail(ErrorCode::engine_model_invalid, "graph input '" + input.name() + "' is defined twice");
    }
    if (input.name().empty()) return fail(ErrorCode::engine_model_invalid, "a graph input has no name");
    int id = add_value(input.name());
    read_type(input.type(), graph.values[id]);
    if (!graph.values[id].declared_type) {
      return fail(ErrorCode::engine_unsupported_data_type, "graph input '" + input.name() + "': unsupported data type " + describe_type(input.type()));
    }
    if (!graph.values[id].declared_shape) {
      return fail(ErrorCode::engine_unsupported_feature, "graph input '" + input.name() + "' has no shape (its rank must be known)");
    }
    if (graph.values[id].declared_shape->size() > kMaxRank) {
      return fail(ErrorCode::engine_model_invalid, "graph input '" + input.name() + "' has too many dimensions");
    }
    graph.inputs.push_back(id);
  }

  std::unordered_map<std::string, const onnx::ValueInfoProto*> value_infos;
  for (const auto& info : graph_proto.value_info()) value_infos.emplace(info.name(), &info);

  graph.nodes.reserve(graph_proto.node_size());
  for (const auto& node_proto : graph_proto.node()) {
    Node node;
    node.name = node_proto.name();
    node.op_type = node_proto.op_type();
    node.domain = normalize_domain(node_proto.domain());
    node.opset = opsets[node.domain];
    const std::string label = node_label(node_proto);
    for (const auto& name : node_proto.input()) {
      if (name.empty()) {
        node.inputs.push_back(-1);
        continue;
      }
      auto it = ids.find(name);
      if (it == ids.end()) {
        return fail(ErrorCode::engine_model_invalid, label + ": input '" + name + "' is not produced by an earlier node, an initializer or a graph input");
      }
      node.inputs.push_back(it->second);
    }
    for (const auto& name : node_proto.output()) {
      if (name.empty()) {
        node.outputs.push_back(-1);
        continue;
      }
      if (ids.contains(name)) return fail(ErrorCode::engine_model_invalid, label + ": output '" + name + "' is defined twice");
      int id = add_value(name);
      graph.values[id].producer = static_cast<int>(graph.nodes.size());
      if (auto info = value_infos.find(name); info != value_infos.end()) read_type(info->second->type(), graph.values[id]);
      node.outputs.push_back(id);
    }
    for (const auto& attribute_proto : node_proto.attribute()) {
      if (node.attributes.contains(attribute_proto.name())) {
        return fail(ErrorCode::engine_model_invalid, label + ": attribute '" + attribute_proto.name() + "' is given twice");
      }
      auto attribute = convert_attribute(attribute_proto, options.max_tensor_bytes);
      if (!attribute) {
        return std::unexpected(Error{attribute.error().code, label + ": attribute '" + attribute_proto.name() + "': " + attribute.error().detail});
      }
      if (attribute->kind == Attribute::Kind::graph) {
        return fail(ErrorCode::engine_unsupported_feature, label + ": subgraph attributes are not supported");
      }
      node.attributes.emplace(attribute_proto.name(), std::move(*attribute));
    }
    graph.nodes.push_back(std::move(node));
  }

  for (const auto& output : graph_proto.output()) {
    auto it = ids.find(output.name());
    if (it == ids.end()) return fail(ErrorCode::engine_model_invalid, "graph output '" + output.name() + "' is not produced by the graph");
    read_type(output.type(), graph.values[it->second]);
    graph.outputs.push_back(it->second);
  }
  if (graph.outputs.empty()) return fail(ErrorCode::engine_model_invalid, "the graph has no outputs");
  return LoadedModel{std::move(graph), std::move(proto)};
}

}  // namespace cloister::engine

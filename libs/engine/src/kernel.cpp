#include "kernel.h"

#include <cmath>

namespace cloister::engine {

namespace {

const char* kind_name(Attribute::Kind kind) {
  switch (kind) {
    case Attribute::Kind::int_: return "int";
    case Attribute::Kind::float_: return "float";
    case Attribute::Kind::string: return "string";
    case Attribute::Kind::tensor: return "tensor";
    case Attribute::Kind::ints: return "ints";
    case Attribute::Kind::floats: return "floats";
    case Attribute::Kind::strings: return "strings";
    case Attribute::Kind::graph: return "graph";
    case Attribute::Kind::other: return "other";
  }
  return "other";
}

}  // namespace

std::unexpected<Error> NodeContext::error(ErrorCode code, std::string_view detail) const {
  return std::unexpected(Error{code, describe_node(graph_, node_) + ": " + std::string(detail)});
}

std::unexpected<Error> NodeContext::unsupported_type(DataType type) const {
  return error(ErrorCode::engine_unsupported_data_type, "unsupported data type " + std::string(data_type_name(type)));
}

#define CLOISTER_ATTRIBUTE_KIND(expected)                                                                          \
  if (attribute->kind != Attribute::Kind::expected) {                                                              \
    return invalid("attribute '" + std::string(name) + "' must be " + kind_name(Attribute::Kind::expected) + ", not " + \
                   kind_name(attribute->kind));                                                                    \
  }

Result<std::int64_t> NodeContext::attribute_int(std::string_view name, std::int64_t fallback) const {
  const Attribute* attribute = node_.attribute(name);
  if (!attribute) return fallback;
  CLOISTER_ATTRIBUTE_KIND(int_)
  return attribute->i;
}

Result<std::int64_t> NodeContext::required_attribute_int(std::string_view name) const {
  if (!node_.attribute(name)) return invalid("attribute '" + std::string(name) + "' is required");
  return attribute_int(name, 0);
}

Result<float> NodeContext::attribute_float(std::string_view name, float fallback) const {
  const Attribute* attribute = node_.attribute(name);
  if (!attribute) return fallback;
  CLOISTER_ATTRIBUTE_KIND(float_)
  return attribute->f;
}

Result<std::string> NodeContext::attribute_string(std::string_view name, std::string fallback) const {
  const Attribute* attribute = node_.attribute(name);
  if (!attribute) return fallback;
  CLOISTER_ATTRIBUTE_KIND(string)
  return attribute->s;
}

Result<std::vector<std::int64_t>> NodeContext::attribute_ints(std::string_view name, std::vector<std::int64_t> fallback) const {
  const Attribute* attribute = node_.attribute(name);
  if (!attribute) return fallback;
  CLOISTER_ATTRIBUTE_KIND(ints)
  return attribute->ints;
}

Result<std::vector<float>> NodeContext::attribute_floats(std::string_view name, std::vector<float> fallback) const {
  const Attribute* attribute = node_.attribute(name);
  if (!attribute) return fallback;
  CLOISTER_ATTRIBUTE_KIND(floats)
  return attribute->floats;
}

#undef CLOISTER_ATTRIBUTE_KIND

Result<const ValueInfo*> NodeContext::required_input(std::size_t index) const {
  if (!has_input(index)) return invalid("input " + std::to_string(index) + " is required");
  return input(index);
}

std::unexpected<Error> NodeContext::needs_constant(std::size_t index) const {
  constant_requested_ = true;
  return unsupported("input " + std::to_string(index) +
                     " must be known when the model is compiled (the output shape depends on its values)");
}

Result<std::vector<std::int64_t>> NodeContext::constant_ints(std::size_t index) const {
  auto value = required_input(index);
  if (!value) return std::unexpected(value.error());
  const ValueInfo& info = **value;
  if (!info.constant) return needs_constant(index);
  std::vector<std::int64_t> values;
  const Tensor& tensor = *info.constant;
  switch (tensor.dtype()) {
    case DataType::int64: values.assign(tensor.values<std::int64_t>().begin(), tensor.values<std::int64_t>().end()); break;
    case DataType::int32: values.assign(tensor.values<std::int32_t>().begin(), tensor.values<std::int32_t>().end()); break;
    default: return invalid("input " + std::to_string(index) + " must be int32 or int64, not " + std::string(data_type_name(tensor.dtype())));
  }
  return values;
}

Result<std::vector<double>> NodeContext::constant_floats(std::size_t index) const {
  auto value = required_input(index);
  if (!value) return std::unexpected(value.error());
  const ValueInfo& info = **value;
  if (!info.constant) return needs_constant(index);
  std::vector<double> values;
  const Tensor& tensor = *info.constant;
  switch (tensor.dtype()) {
    case DataType::float32: values.assign(tensor.values<float>().begin(), tensor.values<float>().end()); break;
    case DataType::float64: values.assign(tensor.values<double>().begin(), tensor.values<double>().end()); break;
    case DataType::int64: values.assign(tensor.values<std::int64_t>().begin(), tensor.values<std::int64_t>().end()); break;
    case DataType::int32: values.assign(tensor.values<std::int32_t>().begin(), tensor.values<std::int32_t>().end()); break;
    default: return invalid("input " + std::to_string(index) + " has an unsupported type " + std::string(data_type_name(tensor.dtype())));
  }
  return values;
}

Result<std::int64_t> NodeContext::axis(std::int64_t value, std::size_t rank) const {
  auto r = static_cast<std::int64_t>(rank);
  if (value < -r || value >= r) {
    return invalid("axis " + std::to_string(value) + " is out of range for rank " + std::to_string(rank));
  }
  return value < 0 ? value + r : value;
}

}  // namespace cloister::engine

#pragma once
// The engine's graph IR: values (SSA), nodes in topological order, attributes, constants.

#include "cloister/core/error.h"
#include "cloister/engine/tensor.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cloister::engine {

struct Attribute {
  enum class Kind { int_, float_, string, tensor, ints, floats, strings, graph, other };
  Kind kind = Kind::other;
  std::int64_t i = 0;
  float f = 0;
  std::string s;
  std::shared_ptr<const Tensor> t;
  std::vector<std::int64_t> ints;
  std::vector<float> floats;
  std::vector<std::string> strings;
};

// A value: a graph input, an initializer (constant) or a node output.
struct Value {
  std::string name;
  // Declared type and shape (graph inputs/outputs, shape inference); shape dims -1 when unknown.
  std::optional<DataType> declared_type;
  std::optional<Shape> declared_shape;
  std::vector<std::string> dimension_names;
  std::shared_ptr<const Tensor> constant;  // initializers
  int producer = -1;                       // node index, -1 for inputs and constants
};

struct Node {
  std::string name;     // may be empty in ONNX; describe() falls back to the first output name
  std::string op_type;
  std::string domain;   // "" for the default ONNX domain
  int opset = 0;        // the model's opset version for this node's domain
  std::vector<int> inputs;   // value ids; -1 for an omitted optional input
  std::vector<int> outputs;  // value ids; -1 for an omitted optional output
  std::map<std::string, Attribute, std::less<>> attributes;

  const Attribute* attribute(std::string_view attribute_name) const {
    auto it = attributes.find(attribute_name);
    return it == attributes.end() ? nullptr : &it->second;
  }
};

struct Graph {
  std::vector<Value> values;
  std::vector<Node> nodes;       // topological order
  std::vector<int> inputs;       // user inputs (initializers excluded)
  std::vector<int> outputs;
  int opset = 0;                 // default-domain opset
  std::int64_t ir_version = 0;
};

// "node 'conv1' (Conv)" — the prefix of every node error.
std::string describe_node(const Graph& graph, const Node& node);

}  // namespace cloister::engine

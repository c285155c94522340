#pragma once
// Builds small ONNX models in tests (onnx::ModelProto), serialized for Session::load.

#include "cloister/engine/tensor.h"

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace cloister::engine::test {

struct Attr {
  onnx::AttributeProto proto;
  static Attr integer(const std::string& name, std::int64_t value);
  static Attr real(const std::string& name, float value);
  static Attr text(const std::string& name, const std::string& value);
  static Attr integers(const std::string& name, std::vector<std::int64_t> values);
  static Attr reals(const std::string& name, std::vector<float> values);
  static Attr tensor(const std::string& name, const Tensor& value);
};

onnx::TensorProto to_proto(const std::string& name, const Tensor& tensor);

class ModelBuilder {
 public:
  explicit ModelBuilder(int opset = 17);
  // dims: -1 → a dynamic dimension named "N".
  ModelBuilder& input(const std::string& name, std::vector<std::int64_t> dims, int elem_type = onnx::TensorProto::FLOAT);
  // dims: -1 → an unknown dimension.
  ModelBuilder& output(const std::string& name, std::vector<std::int64_t> dims, int elem_type = onnx::TensorProto::FLOAT);
  ModelBuilder& initializer(const std::string& name, const Tensor& tensor);
  ModelBuilder& node(const std::string& op_type, std::vector<std::string> inputs, std::vector<std::string> outputs,
                     std::vector<Attr> attributes = {}, const std::string& name = {});
  onnx::ModelProto& model() { return model_; }
  std::string bytes() const;

 private:
  onnx::ModelProto model_;
};

// Deterministic pseudo-random tensor in [-1, 1).
Tensor random_tensor(Shape shape, std::uint32_t seed);

}  // namespace cloister::engine::test

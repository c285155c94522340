#pragma once
// ONNX protobuf → the engine's Graph: parse, refuse what we cannot run (naming the node and
// operator), the ONNX checker, shape inference, then conversion with our own structural checks.

#include "cloister/core/error.h"
#include "cloister/engine/session.h"
#include "graph.h"

#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>

namespace onnx {
class TensorProto;
class ModelProto;
}  // namespace onnx

namespace cloister::engine {

struct LoadedModel {
  Graph graph;
  std::shared_ptr<onnx::ModelProto> proto;  // kept for infer_onnx_shapes(), then dropped
};

// Protobuf parse of untrusted bytes (size and recursion limits), from memory or from a file
// (streamed: no copy of the file in memory).
Result<std::shared_ptr<onnx::ModelProto>> parse_onnx(std::span<const std::byte> bytes, const SessionOptions& options);
Result<std::shared_ptr<onnx::ModelProto>> parse_onnx_file(const std::filesystem::path& path, const SessionOptions& options);

// Operator support, the ONNX checker and conversion to the IR. Initializer data moves from the
// proto into the graph's tensors (the proto's copies are released as they are converted).
Result<LoadedModel> load_onnx_graph(std::shared_ptr<onnx::ModelProto> proto, const SessionOptions& options);

// ONNX shape inference over the model. ONNX 1.12's inference functions are not safe on malformed
// attributes (an out-of-range LayerNormalization axis crashes it), so the session runs this only
// after the engine's own compilation has validated every node for the load-time shapes.
Status infer_onnx_shapes(onnx::ModelProto& model);

// A TensorProto (initializer, Constant attribute, node-test .pb) as a Tensor.
Result<Tensor> tensor_from_proto(const onnx::TensorProto& proto, std::size_t max_bytes);

}  // namespace cloister::engine

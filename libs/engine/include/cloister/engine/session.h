#pragma once
// A loaded ONNX model ready to run: cloister::engine::Session.
//
//   auto session = Session::load_file("model.onnx", {.threads = 2});
//   if (!session) return std::unexpected(session.error());
//   auto outputs = (*session)->run({{"input", tensor}});
//
// Loading parses the protobuf, runs the ONNX checker and shape inference, converts the graph to the
// engine's IR, folds constant (shape) subgraphs, optimises (batch-norm folding, conv + bias +
// activation (+ residual add) fusion, oneDNN preferred layouts), plans one memory arena, creates
// every kernel and runs the model once so the first request pays no JIT. Models with dynamic input
// dimensions are compiled once per distinct input shape (a small cache) on first use.
//
// run() is safe to call from many threads at once: each call takes its own execution state (arena)
// from a pool. Untrusted model bytes never crash the process: errors name the node and operator.

#include "cloister/core/error.h"
#include "cloister/engine/tensor.h"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace onnx {
class ModelProto;
}

namespace cloister::engine {

struct SessionOptions {
  // Threads each run() may use (OpenMP team size for oneDNN and our kernels); 0: all cores.
  int threads = 0;
  // Graph optimisations (fusion, batch-norm folding, blocked layouts). Off: one kernel per node,
  // plain layouts (for debugging and for comparing against the optimised graph).
  bool optimize = true;
  // Run the model once at load (and on each new input-shape specialisation) to warm kernels up.
  bool warm_up = true;
  // Limits that keep hostile models from exhausting memory.
  std::size_t max_model_bytes = std::size_t{2} << 30;    // the serialized model
  std::size_t max_tensor_bytes = std::size_t{4} << 30;   // any single tensor
  std::size_t max_arena_bytes = std::size_t{16} << 30;   // one execution's working memory
  std::size_t max_nodes = 100000;
  // Dimensions a dynamic input gets when the model is compiled at load (e.g. the batch size).
  std::int64_t default_dynamic_dimension = 1;
  // Distinct input-shape specialisations kept (least recently used one evicted).
  std::size_t max_specializations = 8;
};

// One graph input or output: name, type and shape (-1 where the dimension is dynamic).
struct TensorInfo {
  std::string name;
  DataType dtype = DataType::float32;
  std::vector<std::int64_t> shape;
  std::vector<std::string> dimension_names;  // ONNX dim_param per dimension ("" when static)
};

struct NamedTensor {
  std::string name;
  Tensor tensor;
};

// Per-node timing of one run (engine profile; see Session::profile).
struct NodeProfile {
  std::string name;     // the step: node name(s), fused ones joined with '+'
  std::string kind;     // kernel description, e.g. "Conv[brgconv:avx512_core]+Relu"
  double milliseconds;  // wall time of the step
  double flops;         // floating-point operations of the step (0 when not counted)
};

struct SessionStats {
  std::size_t graph_nodes = 0;      // nodes in the ONNX graph
  std::size_t folded_nodes = 0;     // nodes evaluated at load (constant folding)
  std::size_t steps = 0;            // kernels executed per run after optimisation
  std::size_t fused_nodes = 0;      // nodes absorbed by fusion / batch-norm folding
  std::size_t reorders = 0;         // layout conversions per run
  std::size_t arena_bytes = 0;      // planned working memory of one execution
  double flops = 0;                 // floating-point operations per run (conv, matmul, gemm)
};

class Session {
 public:
  static Result<std::unique_ptr<Session>> load(std::span<const std::byte> model_bytes,
                                               const SessionOptions& options = {});
  static Result<std::unique_ptr<Session>> load_file(const std::filesystem::path& path,
                                                    const SessionOptions& options = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const std::vector<TensorInfo>& inputs() const;
  const std::vector<TensorInfo>& outputs() const;
  const SessionOptions& options() const;
  // Statistics of the specialisation compiled at load (or the most recent one).
  SessionStats stats() const;

  // Runs the model. Every graph input must be given once, with its type and a shape matching the
  // model's (dynamic dimensions free). Outputs come back in graph-output order, row-major, in the
  // exact ONNX output shapes. Thread-safe.
  Result<std::vector<NamedTensor>> run(std::span<const NamedTensor> inputs) const;
  Result<std::vector<NamedTensor>> run(std::initializer_list<NamedTensor> inputs) const {
    return run(std::span<const NamedTensor>(inputs.begin(), inputs.size()));
  }
  // Runs once and returns the time of every step (for bench and per-layer analysis).
  Result<std::vector<NodeProfile>> profile(std::span<const NamedTensor> inputs) const;

 private:
  struct Impl;
  explicit Session(std::unique_ptr<Impl> impl);
  static Result<std::unique_ptr<Session>> build(std::shared_ptr<onnx::ModelProto> proto, const SessionOptions& options);
  std::unique_ptr<Impl> impl_;
};

// Operators the engine implements ("Conv", "com.microsoft:..." for other domains), sorted.
std::vector<std::string> supported_operators();

}  // namespace cloister::engine

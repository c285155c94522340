#pragma once
// The operator interface: an operator's factory validates one node against its input types and
// shapes (known at compile time: the engine compiles per input-shape specialisation) and returns a
// Kernel that knows its output types and shapes; prepare() then creates the execution objects
// (oneDNN primitives) for the chosen layouts; run() executes on raw buffers.

#include "cloister/core/error.h"
#include "cloister/engine/tensor.h"
#include "graph.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cloister::engine {

// A non-plain memory layout (a oneDNN memory descriptor), defined in dnnl_util.h. Values whose
// layout is nullptr are dense and row-major.
struct Layout;

struct ValueInfo {
  DataType dtype = DataType::float32;
  Shape shape;
  std::shared_ptr<const Tensor> constant;  // known at compile time (initializer or folded)
  std::shared_ptr<const Layout> layout;    // nullptr: plain row-major
  std::int64_t elements() const { return shape_element_count(shape); }
  std::size_t storage_bytes() const;       // bytes of the buffer (a blocked layout may pad)
};

// Activation fused into a producing kernel (oneDNN post-op) or a residual sum.
struct PostOp {
  enum class Kind { relu, leaky_relu, clip, sigmoid, tanh, hard_sigmoid, hard_swish, elu, gelu_erf, swish, sum };
  Kind kind = Kind::relu;
  float alpha = 0;
  float beta = 0;
  int input = -1;  // sum: the node input index (appended to the node's inputs) added to the output
};

// Compile-time view of one node, handed to the operator's factory.
class NodeContext {
 public:
  NodeContext(const Graph& graph, const Node& node, std::vector<const ValueInfo*> inputs)
      : graph_(graph), node_(node), inputs_(std::move(inputs)) {}

  const Node& node() const { return node_; }
  int opset() const { return node_.opset; }
  std::size_t input_count() const { return inputs_.size(); }
  // nullptr when the input is omitted (optional) or beyond the node's inputs.
  const ValueInfo* input(std::size_t index) const { return index < inputs_.size() ? inputs_[index] : nullptr; }
  bool has_input(std::size_t index) const { return input(index) != nullptr; }
  std::size_t output_count() const { return node_.outputs.size(); }
  bool has_output(std::size_t index) const { return index < node_.outputs.size() && node_.outputs[index] >= 0; }
  std::span<const PostOp> post_ops() const { return post_ops_; }
  void set_post_ops(std::vector<PostOp> post_ops) { post_ops_ = std::move(post_ops); }

  // Attributes (defaults when absent; wrong kinds are node errors).
  bool has_attribute(std::string_view name) const { return node_.attribute(name) != nullptr; }
  Result<std::int64_t> attribute_int(std::string_view name, std::int64_t fallback) const;
  Result<std::int64_t> required_attribute_int(std::string_view name) const;
  Result<float> attribute_float(std::string_view name, float fallback) const;
  Result<std::string> attribute_string(std::string_view name, std::string fallback) const;
  Result<std::vector<std::int64_t>> attribute_ints(std::string_view name, std::vector<std::int64_t> fallback = {}) const;
  Result<std::vector<float>> attribute_floats(std::string_view name, std::vector<float> fallback = {}) const;

  // Requires input `index` to exist (node error otherwise).
  Result<const ValueInfo*> required_input(std::size_t index) const;
  // The values of an integer input known at compile time (int32/int64 → int64). When it is not
  // constant, the error says the output shape depends on data and marks the request so the
  // session can specialise on small graph-input values.
  Result<std::vector<std::int64_t>> constant_ints(std::size_t index) const;
  Result<std::vector<double>> constant_floats(std::size_t index) const;
  // Marks input `index` as needed at compile time (see constant_ints) and returns the error.
  std::unexpected<Error> needs_constant(std::size_t index) const;
  bool constant_requested() const { return constant_requested_; }

  // Errors prefixed with "node 'name' (Op): ".
  std::unexpected<Error> error(ErrorCode code, std::string_view detail) const;
  std::unexpected<Error> invalid(std::string_view detail) const { return error(ErrorCode::engine_node_invalid, detail); }
  std::unexpected<Error> unsupported_type(DataType type) const;
  std::unexpected<Error> unsupported(std::string_view detail) const {
    return error(ErrorCode::engine_unsupported_feature, detail);
  }

  // Normalises an axis in [-rank, rank) to [0, rank).
  Result<std::int64_t> axis(std::int64_t value, std::size_t rank) const;

 private:
  const Graph& graph_;
  const Node& node_;
  std::vector<const ValueInfo*> inputs_;
  std::vector<PostOp> post_ops_;
  mutable bool constant_requested_ = false;
};

struct ExecutionState;

// Per-(execution state, step) objects a kernel creates on its first run (oneDNN memory objects).
struct KernelState {
  virtual ~KernelState() = default;
};

struct RunContext {
  std::span<const void* const> inputs;  // nullptr for omitted inputs
  std::span<void* const> outputs;       // nullptr for omitted outputs
  void* scratch = nullptr;              // scratch_bytes of transient memory
  ExecutionState* state = nullptr;
  std::unique_ptr<KernelState>* kernel_state = nullptr;

  template <class T>
  const T* in(std::size_t index) const { return static_cast<const T*>(inputs[index]); }
  template <class T>
  T* out(std::size_t index) const { return static_cast<T*>(outputs[index]); }
};

// Compile-time information for prepare(): input layouts are final here.
struct PrepareContext {
  std::vector<const ValueInfo*> inputs;  // as in NodeContext, layouts filled in
  int threads = 0;
  bool blocked_layouts = false;  // kernels may pick oneDNN's preferred (blocked) output layouts
};

struct OutputSpec {
  DataType dtype = DataType::float32;
  Shape shape;
  std::shared_ptr<const Layout> layout;  // set by prepare() for layout-aware kernels
  int alias_input = -1;                  // shares the buffer of this input (reshape-like kernels)
  // The kernel overwrites the aliased input (in-place residual sum): the planner shares the buffer
  // only when nothing reads that input afterwards; otherwise the kernel copies it first.
  bool destructive = false;
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  // Creates execution objects once input layouts are known. Layout-aware kernels may set
  // outputs[i].layout. Default: nothing to prepare.
  virtual Status prepare(const PrepareContext&) { return {}; }
  virtual Status run(const RunContext& context) const = 0;
  // Short description for profiles ("Conv[brgconv:avx512_core]").
  virtual std::string describe() const { return {}; }

  std::vector<OutputSpec> outputs;  // one per node output (omitted outputs too)
  std::size_t scratch_bytes = 0;    // set by prepare()
  bool foldable = true;             // deterministic: may run at compile time on constant inputs
  bool reads_input_data = true;     // false: the outputs depend only on input shapes (Shape, Size)
  // Inputs prepare() copied (constant weights reordered into the kernel): run() never reads
  // them, so the plan need not keep the originals.
  std::vector<bool> captured_inputs;
  void capture_input(std::size_t index) {
    if (captured_inputs.size() <= index) captured_inputs.resize(index + 1, false);
    captured_inputs[index] = true;
  }
  bool captured(std::size_t index) const { return index < captured_inputs.size() && captured_inputs[index]; }
  double flops = 0;                 // floating-point operations per run (heavy kernels)
};

using KernelFactory = Result<std::unique_ptr<Kernel>> (*)(NodeContext& context);

}  // namespace cloister::engine

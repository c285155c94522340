#pragma once
// oneDNN glue: the CPU engine, layouts, per-execution state. Included by the kernels that use
// oneDNN and by the planner; never by public headers.

#include "cloister/engine/tensor.h"
#include "kernel.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace cloister::engine {

struct Layout {
  dnnl::memory::desc desc;
};

// The process-wide CPU engine (created on first use; thread-safe).
const dnnl::engine& cpu_engine();

// Working memory and oneDNN stream of one execution; pooled per plan.
struct ExecutionState {
  dnnl::stream stream;
  std::shared_ptr<std::byte> arena_storage;
  std::byte* arena = nullptr;
  std::vector<std::unique_ptr<KernelState>> kernel_states;  // one per step
  std::vector<std::vector<const void*>> step_inputs;        // buffers of each step's inputs
  std::vector<std::vector<void*>> step_outputs;
  std::vector<void*> step_scratch;
};

std::optional<dnnl::memory::data_type> dnnl_type(DataType type);
dnnl::memory::dims dnnl_dims(const Shape& shape);  // rank 0 → {1}
// Dense row-major descriptor.
dnnl::memory::desc plain_desc(DataType type, const Shape& shape);
// The value's descriptor: its layout, or plain.
dnnl::memory::desc value_desc(const ValueInfo& value);
bool is_plain(const dnnl::memory::desc& desc, DataType type, const Shape& shape);
std::shared_ptr<const Layout> make_layout(const dnnl::memory::desc& desc, DataType type, const Shape& shape);
// A descriptor for `shape` in the same memory format as `like` (plain, channels-last or one of
// oneDNN's channel-blocked formats), or nullopt when `like`'s format is not one of those.
std::optional<dnnl::memory::desc> same_format(const dnnl::memory::desc& like, const Shape& shape, DataType type);
// "brgconv:avx512_core"
std::string implementation_name(const dnnl::primitive_desc_base& descriptor);

// A primitive with its argument slots: on a step's first run in an execution state, memory
// objects are created over the step's buffers and kept (in the step's KernelState); later runs
// only re-point a memory object when its buffer moved (constant folding, another state).
class PrimitiveRunner {
 public:
  struct Argument {
    enum class Source { input, output, scratch, constant };
    int dnnl_arg = 0;
    dnnl::memory::desc desc;
    Source source = Source::input;
    std::size_t index = 0;           // input/output index, or byte offset into scratch
    const void* constant = nullptr;  // Source::constant
  };
  PrimitiveRunner() = default;
  PrimitiveRunner(dnnl::primitive primitive, std::vector<Argument> arguments)
      : primitive_(std::move(primitive)), arguments_(std::move(arguments)) {}
  // `slot` distinguishes several runners of one kernel (0, 1, ...).
  void execute(const RunContext& context, std::size_t slot = 0) const;
  bool valid() const { return static_cast<bool>(primitive_); }

 private:
  dnnl::primitive primitive_;
  std::vector<Argument> arguments_;
};

// Appends fused activations / residual sums (PostOp) to a primitive's attributes; residual
// inputs become binary post-op arguments read from the node's inputs.
void append_post_ops(std::span<const PostOp> post_ops, const PrepareContext& context, dnnl::post_ops& operations,
                     std::vector<PrimitiveRunner::Argument>& arguments);

// A fused residual sum (PostOp::Kind::sum, oneDNN's sum post-op) needs the residual in dst before
// the primitive runs: nothing when the planner placed dst on the residual's buffer, a copy when the
// layouts match, a reorder otherwise.
class ResidualPrefill {
 public:
  Status prepare(std::span<const PostOp> post_ops, const PrepareContext& context, const dnnl::memory::desc& dst);
  void run(const RunContext& context, std::size_t slot) const;

 private:
  int input_ = -1;
  std::size_t bytes_ = 0;
  bool same_layout_ = true;
  PrimitiveRunner reorder_;
};

// Owns a buffer converted once at prepare time (constant weights in the primitive's layout).
struct OwnedBuffer {
  std::shared_ptr<std::byte> data;
  std::size_t bytes = 0;
};
OwnedBuffer reorder_constant(const Tensor& tensor, const dnnl::memory::desc& source, const dnnl::memory::desc& target);

// Stream of the execution (a fresh one for constant folding).
dnnl::stream& stream_of(const RunContext& context);

}  // namespace cloister::engine

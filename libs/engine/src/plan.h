#pragma once
// A compiled specialisation of a graph for concrete input shapes: the steps (kernels) to run,
// the memory plan (one arena per execution) and the pool of execution states.

#include "cloister/core/error.h"
#include "cloister/engine/session.h"
#include "graph.h"
#include "kernel.h"

#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

namespace cloister::engine {

struct ExecutionState;

class Plan {
 public:
  // `inputs`: one per graph input (dtype, shape, and the value when the session specialises on
  // it). `constant_requested` is set when a kernel needed an input value known at compile time.
  static Result<std::shared_ptr<Plan>> compile(const Graph& graph, std::vector<ValueInfo> inputs,
                                               const SessionOptions& options, bool* constant_requested);
  ~Plan();

  // Inputs in graph-input order (already validated against the specialisation).
  Result<std::vector<NamedTensor>> run(std::span<const Tensor* const> inputs) const;
  Result<std::vector<NodeProfile>> profile(std::span<const Tensor* const> inputs) const;
  const SessionStats& stats() const { return stats_; }
  const ValueInfo& output_info(std::size_t index) const { return slots_[output_slots_[index]].info; }

  struct Slot {
    ValueInfo info;
    std::size_t offset = 0;      // in the arena
    std::size_t bytes = 0;
    const void* constant = nullptr;  // constant data (outside the arena)
    std::string name;
  };
  struct Step {
    std::unique_ptr<Kernel> kernel;
    std::vector<int> inputs;   // slot ids, -1 omitted
    std::vector<int> outputs;  // slot ids, -1 omitted
    std::size_t scratch_offset = 0;
    std::string name;
    std::string op_type;
  };

 private:
  Plan() = default;
  std::unique_ptr<ExecutionState> acquire() const;
  void release(std::unique_ptr<ExecutionState> state) const;
  Status execute(ExecutionState& state, std::span<const Tensor* const> inputs, std::vector<NodeProfile>* profile) const;
  Result<std::vector<NamedTensor>> collect(const ExecutionState& state) const;

  std::vector<Slot> slots_;
  std::vector<Step> steps_;
  std::vector<int> input_slots_;
  std::vector<int> output_slots_;
  std::vector<std::string> output_names_;
  std::size_t arena_bytes_ = 0;
  int threads_ = 0;
  SessionStats stats_;

  mutable std::mutex pool_mutex_;
  mutable std::vector<std::unique_ptr<ExecutionState>> pool_;
};

}  // namespace cloister::engine

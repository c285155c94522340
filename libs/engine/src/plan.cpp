#include "plan.h"

#include "dnnl_util.h"
#include "optimizer.h"
#include "ops/registry.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>

namespace cloister::engine {

namespace {

constexpr std::size_t kAlignment = 64;

std::size_t align_up(std::size_t value) { return (value + kAlignment - 1) / kAlignment * kAlignment; }

// Converts between layouts (oneDNN reorder); inserted by the planner.
class ReorderKernel final : public Kernel {
 public:
  ReorderKernel(const ValueInfo& source, std::shared_ptr<const Layout> target) {
    outputs.push_back(OutputSpec{source.dtype, source.shape, std::move(target), -1});
    source_desc_ = value_desc(source);
    target_desc_ = outputs[0].layout ? outputs[0].layout->desc : plain_desc(source.dtype, source.shape);
  }
  Status prepare(const PrepareContext&) override {
    dnnl::reorder::primitive_desc descriptor(cpu_engine(), source_desc_, cpu_engine(), target_desc_);
    runner_ = PrimitiveRunner(dnnl::reorder(descriptor),
                              {{DNNL_ARG_FROM, source_desc_, PrimitiveRunner::Argument::Source::input, 0, nullptr},
                               {DNNL_ARG_TO, target_desc_, PrimitiveRunner::Argument::Source::output, 0, nullptr}});
    return {};
  }
  Status run(const RunContext& context) const override {
    runner_.execute(context);
    return {};
  }
  std::string describe() const override { return "Reorder"; }

 private:
  dnnl::memory::desc source_desc_;
  dnnl::memory::desc target_desc_;
  PrimitiveRunner runner_;
};

Status check_output(const NodeContext& context, const OutputSpec& output, const SessionOptions& options) {
  if (output.shape.size() > 16) return context.invalid("output rank " + std::to_string(output.shape.size()) + " is too large");
  auto count = shape_element_count(output.shape);
  if (count < 0) return context.invalid("output shape " + shape_to_string(output.shape) + " is invalid");
  if (static_cast<std::uint64_t>(count) > options.max_tensor_bytes / data_type_size(output.dtype)) {
    return context.error(ErrorCode::engine_limit_exceeded, "output shape " + shape_to_string(output.shape) + " exceeds the tensor size limit");
  }
  return {};
}

// Runs a kernel whose inputs are all constant (constant folding).
Result<std::vector<std::shared_ptr<const Tensor>>> fold(Kernel& kernel, const std::vector<const ValueInfo*>& inputs,
                                                        const SessionOptions& options) {
  PrepareContext prepare{inputs, options.threads};
  if (auto status = kernel.prepare(prepare); !status) return std::unexpected(status.error());
  std::vector<const void*> input_pointers;
  for (const auto* input : inputs) input_pointers.push_back(input && input->constant ? input->constant->bytes() : nullptr);
  std::vector<Tensor> results;
  std::vector<void*> output_pointers;
  results.reserve(kernel.outputs.size());
  for (const auto& output : kernel.outputs) {
    results.emplace_back(output.dtype, output.shape);
    output_pointers.push_back(results.back().bytes());
  }
  std::vector<std::byte> scratch(kernel.scratch_bytes + kAlignment);
  void* scratch_pointer = scratch.data();
  std::size_t space = scratch.size();
  std::align(kAlignment, kernel.scratch_bytes, scratch_pointer, space);
  std::unique_ptr<KernelState> state;
  RunContext run{input_pointers, output_pointers, scratch_pointer, nullptr, &state};
  if (auto status = kernel.run(run); !status) return std::unexpected(status.error());
  std::vector<std::shared_ptr<const Tensor>> shared;
  for (auto& result : results) shared.push_back(std::make_shared<const Tensor>(std::move(result)));
  return shared;
}

}  // namespace

Plan::~Plan() = default;

Result<std::shared_ptr<Plan>> Plan::compile(const Graph& graph, std::vector<ValueInfo> inputs, const SessionOptions& options,
                                            bool* constant_requested) {
  if (options.threads > 0) omp_set_num_threads(options.threads);
  std::shared_ptr<Plan> plan(new Plan());
  plan->threads_ = options.threads;
  plan->stats_.graph_nodes = graph.nodes.size();

  LiveGraph live;
  live.graph = &graph;
  live.values.resize(graph.values.size());
  live.names.resize(graph.values.size());
  for (std::size_t id = 0; id < graph.values.size(); ++id) {
    live.names[id] = graph.values[id].name;
    if (graph.values[id].constant) {
      live.values[id].dtype = graph.values[id].constant->dtype();
      live.values[id].shape = graph.values[id].constant->shape();
      live.values[id].constant = graph.values[id].constant;
    }
  }
  if (inputs.size() != graph.inputs.size()) return fail(ErrorCode::internal, "compile: input count mismatch");
  for (std::size_t i = 0; i < inputs.size(); ++i) live.values[graph.inputs[i]] = std::move(inputs[i]);

  // Pass 1: types and shapes for every node; nodes whose inputs are all known fold to constants.
  for (std::size_t index = 0; index < graph.nodes.size(); ++index) {
    const Node& node = graph.nodes[index];
    const OperatorDef* definition = find_operator(node.domain, node.op_type);
    if (definition == nullptr) {
      return fail(ErrorCode::engine_unsupported_operator, describe_node(graph, node) + ": unsupported operator " + node.op_type);
    }
    std::vector<const ValueInfo*> input_infos;
    bool all_constant = true;
    for (int id : node.inputs) {
      input_infos.push_back(id < 0 ? nullptr : &live.values[id]);
      if (id >= 0 && !live.values[id].constant) all_constant = false;
    }
    NodeContext context(graph, node, input_infos);
    auto kernel = definition->factory(context);
    if (context.constant_requested() && constant_requested) *constant_requested = true;
    if (!kernel) return std::unexpected(kernel.error());
    if ((*kernel)->outputs.size() != node.outputs.size()) {
      return fail(ErrorCode::internal, describe_node(graph, node) + ": kernel output count mismatch");
    }
    for (std::size_t o = 0; o < node.outputs.size(); ++o) {
      if (node.outputs[o] < 0) continue;
      if (auto status = check_output(context, (*kernel)->outputs[o], options); !status) return std::unexpected(status.error());
      auto& value = live.values[node.outputs[o]];
      value.dtype = (*kernel)->outputs[o].dtype;
      value.shape = (*kernel)->outputs[o].shape;
    }
    if ((all_constant || !(*kernel)->reads_input_data) && (*kernel)->foldable) {
      auto results = fold(**kernel, input_infos, options);
      if (!results) {
        return std::unexpected(Error{results.error().code, results.error().detail.starts_with("node '")
                                                               ? results.error().detail
                                                               : describe_node(graph, node) + ": " + results.error().detail});
      }
      for (std::size_t o = 0; o < node.outputs.size(); ++o) {
        if (node.outputs[o] >= 0) live.values[node.outputs[o]].constant = (*results)[o];
      }
      ++plan->stats_.folded_nodes;
      continue;
    }
    LiveNode live_node;
    live_node.node = node;
    live_node.definition = definition;
    live_node.kernel = std::move(*kernel);
    live.nodes.push_back(std::move(live_node));
  }

  // Pass 2: graph optimisations on the specialised graph.
  if (options.optimize) {
    auto fused = optimize_graph(live, options);
    if (!fused) return std::unexpected(fused.error());
    plan->stats_.fused_nodes = *fused;
  }

  // Pass 3: layouts and kernel preparation, in order; reorders where a kernel needs plain input.
  auto add_value = [&](const ValueInfo& info, const std::string& name) {
    live.values.push_back(info);
    live.names.push_back(name);
    return static_cast<int>(live.values.size() - 1);
  };
  std::vector<Step> steps;
  auto reorder_to_plain = [&](int& id) -> Status {
    const ValueInfo source = live.values[id];
    ValueInfo plain = source;
    plain.layout = nullptr;
    int converted = add_value(plain, live.names[id] + "/plain");
    Step reorder;
    reorder.kernel = std::make_unique<ReorderKernel>(source, nullptr);
    if (auto status = reorder.kernel->prepare(PrepareContext{{&live.values[id]}, options.threads, options.optimize}); !status) {
      return status;
    }
    reorder.inputs = {id};
    reorder.outputs = {converted};
    reorder.name = live.names[id] + "/reorder";
    reorder.op_type = "Reorder";
    steps.push_back(std::move(reorder));
    ++plan->stats_.reorders;
    id = converted;
    return {};
  };
  for (auto& live_node : live.nodes) {
    const LayoutSupport support = live_node.definition->layouts;
    std::shared_ptr<const Layout> dense_layout;
    if (support == LayoutSupport::dense) {
      // Elementwise over the buffer: every blocked input must share one unpadded layout and the
      // output's shape; otherwise all go plain.
      bool ok = true;
      std::size_t present = 0;
      for (int id : live_node.node.inputs) {
        if (id < 0) continue;
        ++present;
        const ValueInfo& info = live.values[id];
        if (!info.layout) continue;
        const bool unpadded = info.layout->desc.get_size() == static_cast<std::size_t>(info.elements()) * data_type_size(info.dtype);
        ok = ok && unpadded && info.shape == live_node.kernel->outputs[0].shape;
        dense_layout = info.layout;
      }
      // Only single-input kernels pass a layout through.
      if (!ok || present != 1) dense_layout = nullptr;
    }
    for (auto& id : live_node.node.inputs) {
      if (id < 0 || !live.values[id].layout || support == LayoutSupport::any) continue;
      if (support == LayoutSupport::dense && dense_layout) continue;
      if (auto status = reorder_to_plain(id); !status) return std::unexpected(status.error());
    }
    PrepareContext prepare;
    prepare.threads = options.threads;
    prepare.blocked_layouts = options.optimize;
    for (int id : live_node.node.inputs) prepare.inputs.push_back(id < 0 ? nullptr : &live.values[id]);
    if (auto status = live_node.kernel->prepare(prepare); !status) {
      const auto& detail = status.error().detail;
      return std::unexpected(Error{status.error().code, detail.starts_with("node '") ? detail
                                                          : describe_node(graph, live_node.node) + ": " + detail});
    }
    if (dense_layout) {
      for (auto& output : live_node.kernel->outputs) output.layout = dense_layout;
    }
    for (std::size_t o = 0; o < live_node.node.outputs.size(); ++o) {
      int id = live_node.node.outputs[o];
      if (id >= 0) live.values[id].layout = live_node.kernel->outputs[o].layout;
    }
    Step step;
    step.inputs = live_node.node.inputs;
    step.outputs = live_node.node.outputs;
    step.name = live_node.label.empty() ? describe_node(graph, live_node.node) : live_node.label;
    step.op_type = live_node.node.op_type;
    if (auto description = live_node.kernel->describe(); !description.empty()) step.op_type = description;
    step.kernel = std::move(live_node.kernel);
    steps.push_back(std::move(step));
  }
  std::vector<int> outputs(graph.outputs.begin(), graph.outputs.end());
  for (auto& id : outputs) {
    if (!live.values[id].layout) continue;
    const std::string name = live.names[id];
    if (auto status = reorder_to_plain(id); !status) return std::unexpected(status.error());
    live.names[id] = name;
  }

  // Pass 4: memory plan. Buffers (a value, or values aliasing it) get arena offsets so that
  // buffers alive at the same time never overlap.
  const std::size_t value_count = live.values.size();
  plan->slots_.resize(value_count);
  for (std::size_t id = 0; id < value_count; ++id) {
    auto& slot = plan->slots_[id];
    slot.info = live.values[id];
    slot.name = live.names[id];
    slot.bytes = slot.info.storage_bytes();
    if (slot.info.constant) slot.constant = slot.info.constant->bytes();
  }
  // Buffers: a value, or a group of values sharing one (reshape-like aliases, in-place sums).
  const int end_time = static_cast<int>(steps.size()) + 1;
  std::vector<int> last_use(value_count, -1);
  for (int id : graph.inputs) last_use[id] = 0;
  for (std::size_t s = 0; s < steps.size(); ++s) {
    for (int id : steps[s].inputs) {
      if (id >= 0) last_use[id] = std::max(last_use[id], static_cast<int>(s) + 1);
    }
  }
  for (int id : outputs) last_use[id] = end_time;
  auto same_layout = [&](int a, int b) {
    const auto& la = plan->slots_[a].info.layout;
    const auto& lb = plan->slots_[b].info.layout;
    if (!la || !lb) return !la && !lb;
    return la->desc == lb->desc;
  };
  std::vector<int> buffer_of(value_count);
  for (std::size_t id = 0; id < value_count; ++id) buffer_of[id] = static_cast<int>(id);
  std::vector<int> first(value_count, -1), last(value_count, -1);
  for (int id : graph.inputs) first[id] = 0, last[id] = std::max(last[id], last_use[id]);
  for (std::size_t s = 0; s < steps.size(); ++s) {
    const int time = static_cast<int>(s) + 1;
    auto& step = steps[s];
    for (std::size_t o = 0; o < step.outputs.size(); ++o) {
      int id = step.outputs[o];
      if (id < 0) continue;
      const OutputSpec& spec = step.kernel->outputs[o];
      const int alias = spec.alias_input;
      bool shared = false;
      if (alias >= 0 && static_cast<std::size_t>(alias) < step.inputs.size() && step.inputs[alias] >= 0) {
        const int input = step.inputs[alias];
        const int root = buffer_of[input];
        shared = !plan->slots_[input].constant && same_layout(id, input) && plan->slots_[id].bytes == plan->slots_[input].bytes &&
                 (!spec.destructive || last[root] <= time);
        // Writing in place must not clobber a buffer this step still reads through another input.
        for (std::size_t j = 0; shared && spec.destructive && j < step.inputs.size(); ++j) {
          if (static_cast<int>(j) != alias && step.inputs[j] >= 0 && buffer_of[step.inputs[j]] == root) shared = false;
        }
        if (shared) {
          buffer_of[id] = root;
          last[root] = std::max(last[root], last_use[id]);
        }
      }
      if (!shared) {
        first[id] = time;
        last[id] = std::max(time, last_use[id]);
      }
    }
  }
  struct Buffer {
    std::size_t bytes;
    int first;
    int last;
    std::size_t offset = 0;
    std::vector<int> values;  // value ids; -1 - step for a scratch buffer
  };
  std::vector<Buffer> buffers;
  std::vector<int> buffer_index(value_count, -1);
  for (std::size_t id = 0; id < value_count; ++id) {
    if (plan->slots_[id].constant || first[id] < 0 || buffer_of[id] != static_cast<int>(id)) continue;
    if (last[id] < first[id]) last[id] = first[id];
    buffer_index[id] = static_cast<int>(buffers.size());
    buffers.push_back(Buffer{align_up(plan->slots_[id].bytes), first[id], last[id], 0, {static_cast<int>(id)}});
  }
  for (std::size_t s = 0; s < steps.size(); ++s) {
    if (steps[s].kernel->scratch_bytes == 0) continue;
    const int time = static_cast<int>(s) + 1;
    buffers.push_back(Buffer{align_up(steps[s].kernel->scratch_bytes), time, time, 0, {-1 - static_cast<int>(s)}});
  }
  std::vector<std::size_t> order(buffers.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return buffers[a].bytes > buffers[b].bytes; });
  std::vector<std::size_t> placed;
  std::size_t arena = 0;
  for (std::size_t index : order) {
    auto& buffer = buffers[index];
    std::vector<std::pair<std::size_t, std::size_t>> busy;
    for (std::size_t other_index : placed) {
      const auto& other = buffers[other_index];
      if (other.last < buffer.first || buffer.last < other.first) continue;
      busy.emplace_back(other.offset, other.offset + other.bytes);
    }
    std::sort(busy.begin(), busy.end());
    std::size_t offset = 0;
    for (const auto& [begin, end] : busy) {
      if (offset + buffer.bytes <= begin) break;
      offset = std::max(offset, end);
    }
    buffer.offset = offset;
    arena = std::max(arena, offset + buffer.bytes);
    placed.push_back(index);
  }
  if (arena > options.max_arena_bytes) {
    return fail(ErrorCode::engine_limit_exceeded, "the model needs " + std::to_string(arena) + " bytes of working memory, more than the limit");
  }
  for (const auto& buffer : buffers) {
    for (int id : buffer.values) {
      if (id >= 0) {
        plan->slots_[id].offset = buffer.offset;
      } else {
        steps[static_cast<std::size_t>(-1 - id)].scratch_offset = buffer.offset;
      }
    }
  }
  for (std::size_t id = 0; id < value_count; ++id) {
    if (buffer_of[id] != static_cast<int>(id)) plan->slots_[id].offset = plan->slots_[buffer_of[id]].offset;
  }
  // Constants that no step reads at run time (weights the kernels copied into their own layout)
  // are not kept by the plan.
  std::vector<bool> read(value_count, false);
  for (const auto& step : steps) {
    for (std::size_t i = 0; i < step.inputs.size(); ++i) {
      if (step.inputs[i] >= 0 && !step.kernel->captured(i)) read[static_cast<std::size_t>(step.inputs[i])] = true;
    }
  }
  for (int id : outputs) read[static_cast<std::size_t>(id)] = true;
  for (int id : graph.inputs) read[static_cast<std::size_t>(id)] = true;  // specialised inputs stay constant
  for (std::size_t id = 0; id < value_count; ++id) {
    if (read[id] || !plan->slots_[id].constant) continue;
    plan->slots_[id].info.constant = nullptr;
    plan->slots_[id].constant = nullptr;
  }
  plan->arena_bytes_ = arena;
  plan->steps_ = std::move(steps);
  plan->input_slots_.assign(graph.inputs.begin(), graph.inputs.end());
  plan->output_slots_ = outputs;
  for (int id : graph.outputs) plan->output_names_.push_back(graph.values[id].name);
  plan->stats_.steps = plan->steps_.size();
  plan->stats_.arena_bytes = arena;
  for (const auto& step : plan->steps_) plan->stats_.flops += step.kernel->flops;
  return plan;
}

std::unique_ptr<ExecutionState> Plan::acquire() const {
  {
    std::lock_guard lock(pool_mutex_);
    if (!pool_.empty()) {
      auto state = std::move(pool_.back());
      pool_.pop_back();
      return state;
    }
  }
  auto state = std::make_unique<ExecutionState>();
  state->stream = dnnl::stream(cpu_engine());
  std::size_t bytes = align_up(std::max<std::size_t>(arena_bytes_, kAlignment));
  void* memory = std::aligned_alloc(kAlignment, bytes);
  if (memory == nullptr) throw std::bad_alloc();
  std::memset(memory, 0, bytes);
  state->arena_storage = std::shared_ptr<std::byte>(static_cast<std::byte*>(memory), [](std::byte* p) { std::free(p); });
  state->arena = state->arena_storage.get();
  state->kernel_states.resize(steps_.size());
  auto pointer = [&](int id) -> std::byte* {
    const auto& slot = slots_[id];
    if (slot.constant) return const_cast<std::byte*>(static_cast<const std::byte*>(slot.constant));
    return state->arena + slot.offset;
  };
  for (const auto& step : steps_) {
    std::vector<const void*> step_inputs;
    for (std::size_t i = 0; i < step.inputs.size(); ++i) {
      const int id = step.inputs[i];
      step_inputs.push_back(id < 0 || step.kernel->captured(i) ? nullptr : pointer(id));
    }
    std::vector<void*> step_outputs;
    for (int id : step.outputs) step_outputs.push_back(id < 0 ? nullptr : pointer(id));
    state->step_inputs.push_back(std::move(step_inputs));
    state->step_outputs.push_back(std::move(step_outputs));
    state->step_scratch.push_back(state->arena + step.scratch_offset);
  }
  return state;
}

void Plan::release(std::unique_ptr<ExecutionState> state) const {
  std::lock_guard lock(pool_mutex_);
  pool_.push_back(std::move(state));
}

Status Plan::execute(ExecutionState& state, std::span<const Tensor* const> inputs, std::vector<NodeProfile>* profile) const {
  if (threads_ > 0) omp_set_num_threads(threads_);
  for (std::size_t i = 0; i < input_slots_.size(); ++i) {
    const auto& slot = slots_[input_slots_[i]];
    if (slot.constant) continue;  // specialised on its value
    if (inputs[i]->byte_size() != slot.bytes) return fail(ErrorCode::internal, "input size does not match the plan");
    if (slot.bytes) std::memcpy(state.arena + slot.offset, inputs[i]->bytes(), slot.bytes);
  }
  for (std::size_t s = 0; s < steps_.size(); ++s) {
    const auto& step = steps_[s];
    RunContext context{state.step_inputs[s], state.step_outputs[s], state.step_scratch[s], &state, &state.kernel_states[s]};
    auto start = std::chrono::steady_clock::now();
    Status status;
    try {
      status = step.kernel->run(context);
    } catch (const dnnl::error& error) {
      status = fail(ErrorCode::engine_execution_failed, std::string("oneDNN: ") + error.what());
    }
    if (!status) {
      const auto& detail = status.error().detail;
      return std::unexpected(Error{status.error().code, detail.starts_with("node '") ? detail : step.name + ": " + detail});
    }
    if (profile) {
      auto end = std::chrono::steady_clock::now();
      profile->push_back(NodeProfile{step.name, step.op_type,
                                     std::chrono::duration<double, std::milli>(end - start).count(), step.kernel->flops});
    }
  }
  return {};
}

Result<std::vector<NamedTensor>> Plan::collect(const ExecutionState& state) const {
  std::vector<NamedTensor> results;
  results.reserve(output_slots_.size());
  for (std::size_t i = 0; i < output_slots_.size(); ++i) {
    const auto& slot = slots_[output_slots_[i]];
    Tensor tensor(slot.info.dtype, slot.info.shape);
    const void* source = slot.constant ? slot.constant : state.arena + slot.offset;
    if (tensor.byte_size()) std::memcpy(tensor.bytes(), source, tensor.byte_size());
    results.push_back(NamedTensor{output_names_[i], std::move(tensor)});
  }
  return results;
}

Result<std::vector<NamedTensor>> Plan::run(std::span<const Tensor* const> inputs) const {
  auto state = acquire();
  auto status = execute(*state, inputs, nullptr);
  Result<std::vector<NamedTensor>> results = status ? collect(*state) : std::unexpected(status.error());
  release(std::move(state));
  return results;
}

Result<std::vector<NodeProfile>> Plan::profile(std::span<const Tensor* const> inputs) const {
  auto state = acquire();
  std::vector<NodeProfile> profile;
  auto status = execute(*state, inputs, &profile);
  release(std::move(state));
  if (!status) return std::unexpected(status.error());
  return profile;
}

}  // namespace cloister::engine

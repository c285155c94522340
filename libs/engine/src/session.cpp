#include "cloister/engine/session.h"

#include "onnx_loader.h"
#include "ops/registry.h"
#include "plan.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <list>
#include <mutex>
#include <unordered_map>

namespace cloister::engine {

namespace {

// Graph inputs up to this many elements may be specialised on their values (shape tensors,
// Resize scales, Pad amounts, ...) when a kernel needs them at compile time.
constexpr std::int64_t kMaxSpecializedElements = 64;

}  // namespace

struct Session::Impl {
  Graph graph;
  SessionOptions options;
  std::vector<TensorInfo> inputs;
  std::vector<TensorInfo> outputs;

  mutable std::mutex mutex;          // guards cache, value_specialized, last_stats
  mutable std::mutex compile_mutex;  // one compilation at a time
  mutable std::list<std::pair<std::string, std::shared_ptr<const Plan>>> cache;  // most recent first
  mutable bool value_specialized = false;
  mutable SessionStats last_stats;

  std::string key(std::span<const Tensor* const> tensors, bool with_values) const {
    std::string key;
    for (const Tensor* tensor : tensors) {
      key += shape_to_string(tensor->shape());
      if (with_values && tensor->element_count() <= kMaxSpecializedElements) {
        key += '=';
        key.append(reinterpret_cast<const char*>(tensor->bytes()), tensor->byte_size());
      }
      key += ';';
    }
    return key;
  }

  std::shared_ptr<const Plan> find(const std::string& key) const {
    std::lock_guard lock(mutex);
    for (auto it = cache.begin(); it != cache.end(); ++it) {
      if (it->first == key) {
        cache.splice(cache.begin(), cache, it);
        return cache.front().second;
      }
    }
    return nullptr;
  }

  void remember(std::string key, std::shared_ptr<const Plan> plan) const {
    std::lock_guard lock(mutex);
    last_stats = plan->stats();
    cache.emplace_front(std::move(key), std::move(plan));
    while (cache.size() > std::max<std::size_t>(options.max_specializations, 1)) cache.pop_back();
  }

  Result<std::shared_ptr<const Plan>> compile(std::span<const Tensor* const> tensors, bool with_values,
                                              bool* constant_requested) const {
    std::vector<ValueInfo> infos;
    for (const Tensor* tensor : tensors) {
      ValueInfo info;
      info.dtype = tensor->dtype();
      info.shape = tensor->shape();
      if (with_values && tensor->element_count() <= kMaxSpecializedElements) info.constant = std::make_shared<const Tensor>(*tensor);
      infos.push_back(std::move(info));
    }
    try {
      auto plan = Plan::compile(graph, std::move(infos), options, constant_requested);
      if (!plan) return std::unexpected(plan.error());
      return std::shared_ptr<const Plan>(std::move(*plan));
    } catch (const dnnl::error& error) {
      return fail(ErrorCode::engine_execution_failed, std::string("oneDNN: ") + error.what());
    } catch (const std::bad_alloc&) {
      return fail(ErrorCode::engine_limit_exceeded, "out of memory while compiling the model");
    }
  }

  // The plan for these inputs: cached, or compiled now (specialising on small input values when
  // a kernel needs them).
  Result<std::shared_ptr<const Plan>> plan_for(std::span<const Tensor* const> tensors) const {
    bool with_values;
    {
      std::lock_guard lock(mutex);
      with_values = value_specialized;
    }
    auto cache_key = key(tensors, with_values);
    if (auto plan = find(cache_key)) return plan;
    std::lock_guard compile_lock(compile_mutex);
    if (auto plan = find(cache_key)) return plan;
    bool constant_requested = false;
    auto plan = compile(tensors, with_values, &constant_requested);
    if (!plan && constant_requested && !with_values) {
      {
        std::lock_guard lock(mutex);
        value_specialized = true;
        cache.clear();
      }
      with_values = true;
      cache_key = key(tensors, true);
      plan = compile(tensors, true, nullptr);
    }
    if (!plan) return std::unexpected(plan.error());
    remember(cache_key, *plan);
    return plan;
  }

  Result<std::vector<const Tensor*>> order_inputs(std::span<const NamedTensor> given) const {
    std::vector<const Tensor*> ordered(inputs.size(), nullptr);
    for (const auto& named : given) {
      auto it = std::find_if(inputs.begin(), inputs.end(), [&](const TensorInfo& info) { return info.name == named.name; });
      if (it == inputs.end()) return fail(ErrorCode::engine_input_invalid, "the model has no input '" + named.name + "'");
      auto index = static_cast<std::size_t>(it - inputs.begin());
      if (ordered[index]) return fail(ErrorCode::engine_input_invalid, "input '" + named.name + "' is given twice");
      const Tensor& tensor = named.tensor;
      if (tensor.dtype() != it->dtype) {
        return fail(ErrorCode::engine_input_invalid, "input '" + named.name + "' must be " + std::string(data_type_name(it->dtype)) +
                                                         ", not " + std::string(data_type_name(tensor.dtype())));
      }
      bool shape_ok = tensor.shape().size() == it->shape.size();
      for (std::size_t d = 0; shape_ok && d < it->shape.size(); ++d) {
        shape_ok = it->shape[d] < 0 || it->shape[d] == tensor.shape()[d];
      }
      if (!shape_ok) {
        return fail(ErrorCode::engine_input_invalid, "input '" + named.name + "' has shape " + shape_to_string(tensor.shape()) +
                                                         ", the model expects " + shape_to_string(it->shape));
      }
      if (tensor.element_count() < 0 || (tensor.element_count() > 0 && tensor.bytes() == nullptr)) {
        return fail(ErrorCode::engine_input_invalid, "input '" + named.name + "' has no data");
      }
      ordered[index] = &tensor;
    }
    for (std::size_t i = 0; i < ordered.size(); ++i) {
      if (!ordered[i]) return fail(ErrorCode::engine_input_invalid, "input '" + inputs[i].name + "' is missing");
    }
    return ordered;
  }
};

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::~Session() = default;

Result<std::unique_ptr<Session>> Session::load(std::span<const std::byte> model_bytes, const SessionOptions& options) {
  auto proto = parse_onnx(model_bytes, options);
  if (!proto) return std::unexpected(proto.error());
  return build(std::move(*proto), options);
}

Result<std::unique_ptr<Session>> Session::load_file(const std::filesystem::path& path, const SessionOptions& options) {
  auto proto = parse_onnx_file(path, options);
  if (!proto) return std::unexpected(proto.error());
  return build(std::move(*proto), options);
}

Result<std::unique_ptr<Session>> Session::build(std::shared_ptr<onnx::ModelProto> proto, const SessionOptions& options) {
  auto loaded = load_onnx_graph(std::move(proto), options);
  if (!loaded) return std::unexpected(loaded.error());
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->graph = std::move(loaded->graph);
  const Graph& g = impl->graph;
  for (int id : g.inputs) {
    const Value& value = g.values[id];
    impl->inputs.push_back(TensorInfo{value.name, *value.declared_type, *value.declared_shape, value.dimension_names});
  }
  for (int id : g.outputs) {
    const Value& value = g.values[id];
    TensorInfo info{value.name, value.declared_type.value_or(DataType::float32), value.declared_shape.value_or(Shape{}),
                    value.dimension_names};
    impl->outputs.push_back(std::move(info));
  }

  // Compile for the declared shapes (dynamic dimensions at their default) and warm up.
  bool dynamic = false;
  std::vector<Tensor> warm_inputs;
  for (const auto& input : impl->inputs) {
    Shape shape = input.shape;
    for (auto& dimension : shape) {
      if (dimension < 0) {
        dimension = options.default_dynamic_dimension;
        dynamic = true;
      }
    }
    auto count = shape_element_count(shape);
    if (count < 0 || static_cast<std::uint64_t>(count) > options.max_tensor_bytes / data_type_size(input.dtype)) {
      return fail(ErrorCode::engine_limit_exceeded, "graph input '" + input.name + "' " + shape_to_string(shape) + " exceeds the tensor size limit");
    }
    warm_inputs.emplace_back(input.dtype, std::move(shape));
  }
  std::vector<const Tensor*> pointers;
  for (const auto& tensor : warm_inputs) pointers.push_back(&tensor);
  bool constant_requested = false;
  auto plan = impl->compile(pointers, false, &constant_requested);
  if (plan) {
    for (std::size_t i = 0; i < impl->outputs.size(); ++i) {
      const auto& info = (*plan)->output_info(i);
      impl->outputs[i].dtype = info.dtype;
      if (!dynamic) {
        impl->outputs[i].shape = info.shape;
        impl->outputs[i].dimension_names.assign(info.shape.size(), "");
      }
    }
    // Every node has now been validated by the engine: ONNX shape inference is safe to run.
    if (auto status = infer_onnx_shapes(*loaded->proto); !status) return std::unexpected(status.error());
    if (options.warm_up) (void)(*plan)->run(pointers);
    impl->remember(impl->key(pointers, false), *plan);
    // A model without dynamic dimensions never compiles again: the graph's copies of the weights
    // (the kernels hold theirs, in their own layouts) can go.
    if (!dynamic) {
      for (auto& value : impl->graph.values) value.constant.reset();
    }
  } else if (constant_requested) {
    std::lock_guard lock(impl->mutex);
    impl->value_specialized = true;  // compiled on first run, per input values
  } else {
    auto code = plan.error().code;
    bool shape_dependent = code == ErrorCode::engine_node_invalid || code == ErrorCode::engine_limit_exceeded;
    if (!dynamic || !shape_dependent) return std::unexpected(plan.error());
  }
  return std::unique_ptr<Session>(new Session(std::move(impl)));
}

const std::vector<TensorInfo>& Session::inputs() const { return impl_->inputs; }
const std::vector<TensorInfo>& Session::outputs() const { return impl_->outputs; }
const SessionOptions& Session::options() const { return impl_->options; }

SessionStats Session::stats() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->last_stats;
}

Result<std::vector<NamedTensor>> Session::run(std::span<const NamedTensor> inputs) const {
  auto ordered = impl_->order_inputs(inputs);
  if (!ordered) return std::unexpected(ordered.error());
  auto plan = impl_->plan_for(*ordered);
  if (!plan) return std::unexpected(plan.error());
  try {
    return (*plan)->run(*ordered);
  } catch (const std::bad_alloc&) {
    return fail(ErrorCode::engine_limit_exceeded, "out of memory while running the model");
  }
}

Result<std::vector<NodeProfile>> Session::profile(std::span<const NamedTensor> inputs) const {
  auto ordered = impl_->order_inputs(inputs);
  if (!ordered) return std::unexpected(ordered.error());
  auto plan = impl_->plan_for(*ordered);
  if (!plan) return std::unexpected(plan.error());
  return (*plan)->profile(*ordered);
}

std::vector<std::string> supported_operators() {
  std::vector<std::string> names;
  for (const auto& definition : operator_table()) {
    names.push_back(definition.domain.empty() ? std::string(definition.op_type)
                                              : std::string(definition.domain) + ":" + std::string(definition.op_type));
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

}  // namespace cloister::engine

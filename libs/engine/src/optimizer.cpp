#include "optimizer.h"

#include "ops/registry.h"

#include <cmath>
#include <optional>

namespace cloister::engine {

namespace {

// Where each value is read: live node indices, and whether it is a graph output.
struct Uses {
  std::vector<std::vector<std::size_t>> consumers;
  std::vector<int> producer;  // live node index, -1 for inputs/constants
  std::vector<bool> graph_output;
};

Uses compute_uses(const LiveGraph& graph) {
  Uses uses;
  const std::size_t count = graph.values.size();
  uses.consumers.assign(count, {});
  uses.producer.assign(count, -1);
  uses.graph_output.assign(count, false);
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    for (int id : graph.nodes[i].node.inputs) {
      if (id >= 0) uses.consumers[static_cast<std::size_t>(id)].push_back(i);
    }
    for (int id : graph.nodes[i].node.outputs) {
      if (id >= 0) uses.producer[static_cast<std::size_t>(id)] = static_cast<int>(i);
    }
  }
  for (int id : graph.graph->outputs) uses.graph_output[static_cast<std::size_t>(id)] = true;
  return uses;
}

bool only_consumer(const Uses& uses, int value, std::size_t node) {
  const auto& consumers = uses.consumers[static_cast<std::size_t>(value)];
  return !uses.graph_output[static_cast<std::size_t>(value)] && consumers.size() == 1 && consumers[0] == node;
}

bool is_default_domain(const LiveNode& node, std::string_view op_type) { return node.node.domain.empty() && node.node.op_type == op_type; }

int add_constant(LiveGraph& graph, Tensor tensor, const std::string& name) {
  ValueInfo info;
  info.dtype = tensor.dtype();
  info.shape = tensor.shape();
  info.constant = std::make_shared<const Tensor>(std::move(tensor));
  graph.values.push_back(std::move(info));
  graph.names.push_back(name);
  return static_cast<int>(graph.values.size() - 1);
}

// Recreates a node's kernel after its inputs, outputs or post-ops changed.
Status rebuild(LiveGraph& graph, LiveNode& live) {
  std::vector<const ValueInfo*> inputs;
  for (int id : live.node.inputs) inputs.push_back(id < 0 ? nullptr : &graph.values[static_cast<std::size_t>(id)]);
  NodeContext context(*graph.graph, live.node, inputs);
  context.set_post_ops(live.post_ops);
  auto kernel = live.definition->factory(context);
  if (!kernel) return std::unexpected(kernel.error());
  live.kernel = std::move(*kernel);
  for (std::size_t o = 0; o < live.node.outputs.size(); ++o) {
    int id = live.node.outputs[o];
    if (id < 0) continue;
    graph.values[static_cast<std::size_t>(id)].dtype = live.kernel->outputs[o].dtype;
    graph.values[static_cast<std::size_t>(id)].shape = live.kernel->outputs[o].shape;
  }
  return {};
}

std::string join_label(const Graph& graph, const LiveNode& first, const LiveNode& second) {
  auto name = [&](const LiveNode& live) {
    if (!live.label.empty()) return live.label;
    if (!live.node.name.empty()) return live.node.name;
    return live.node.outputs.empty() || live.node.outputs[0] < 0 ? live.node.op_type : graph.values[live.node.outputs[0]].name;
  };
  return name(first) + "+" + name(second);
}

bool float32(const LiveGraph& graph, int id) { return id >= 0 && graph.values[static_cast<std::size_t>(id)].dtype == DataType::float32; }

const Tensor* constant_of(const LiveGraph& graph, const LiveNode& live, std::size_t index) {
  if (index >= live.node.inputs.size() || live.node.inputs[index] < 0) return nullptr;
  return graph.values[static_cast<std::size_t>(live.node.inputs[index])].constant.get();
}

// Conv (constant weights) → BatchNormalization (constant parameters): scale the weights and
// bias per output channel; the BatchNormalization disappears.
Result<bool> fold_batch_norm(LiveGraph& graph, std::vector<bool>& removed) {
  bool changed = false;
  Uses uses = compute_uses(graph);
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    LiveNode& bn = graph.nodes[i];
    if (removed[i] || !is_default_domain(bn, "BatchNormalization") || bn.node.outputs.size() != 1) continue;
    int x = bn.node.inputs[0];
    int p = uses.producer[static_cast<std::size_t>(x)];
    if (p < 0 || removed[static_cast<std::size_t>(p)] || !only_consumer(uses, x, i)) continue;
    LiveNode& conv = graph.nodes[static_cast<std::size_t>(p)];
    if (!is_default_domain(conv, "Conv") || !conv.post_ops.empty() || conv.node.outputs.size() != 1) continue;
    const Tensor* weights = constant_of(graph, conv, 1);
    const Tensor* bias = constant_of(graph, conv, 2);
    if (!weights || (conv.node.inputs.size() > 2 && conv.node.inputs[2] >= 0 && !bias)) continue;
    const Tensor* scale = constant_of(graph, bn, 1);
    const Tensor* shift = constant_of(graph, bn, 2);
    const Tensor* mean = constant_of(graph, bn, 3);
    const Tensor* variance = constant_of(graph, bn, 4);
    if (!scale || !shift || !mean || !variance || weights->dtype() != DataType::float32) continue;
    const Attribute* epsilon_attribute = bn.node.attribute("epsilon");
    const double epsilon = epsilon_attribute && epsilon_attribute->kind == Attribute::Kind::float_ ? epsilon_attribute->f : 1e-5;
    const std::int64_t channels = weights->shape()[0];
    if (scale->element_count() != channels) continue;
    const std::int64_t per_channel = weights->element_count() / channels;
    Tensor new_weights = *weights;
    Tensor new_bias(DataType::float32, {channels});
    for (std::int64_t c = 0; c < channels; ++c) {
      const double factor = scale->values<float>()[static_cast<std::size_t>(c)] /
                            std::sqrt(static_cast<double>(variance->values<float>()[static_cast<std::size_t>(c)]) + epsilon);
      float* w = new_weights.data<float>() + c * per_channel;
      for (std::int64_t k = 0; k < per_channel; ++k) w[k] = static_cast<float>(w[k] * factor);
      const double b = bias ? bias->values<float>()[static_cast<std::size_t>(c)] : 0.0;
      new_bias.data<float>()[c] = static_cast<float>((b - mean->values<float>()[static_cast<std::size_t>(c)]) * factor +
                                                     shift->values<float>()[static_cast<std::size_t>(c)]);
    }
    const std::string base = graph.names[static_cast<std::size_t>(bn.node.outputs[0])];
    int w_id = add_constant(graph, std::move(new_weights), base + "/folded_weights");
    int b_id = add_constant(graph, std::move(new_bias), base + "/folded_bias");
    conv.node.inputs = {conv.node.inputs[0], w_id, b_id};
    conv.node.outputs = bn.node.outputs;
    conv.label = join_label(*graph.graph, conv, bn);
    if (auto status = rebuild(graph, conv); !status) return std::unexpected(status.error());
    removed[i] = true;
    changed = true;
    uses = compute_uses(graph);
  }
  return changed;
}

std::optional<PostOp> activation_post_op(const LiveGraph& graph, const LiveNode& live) {
  const Node& node = live.node;
  if (!node.domain.empty() || node.inputs.empty() || !float32(graph, node.inputs[0])) return std::nullopt;
  auto float_attribute = [&](const char* name, float fallback) {
    const Attribute* attribute = node.attribute(name);
    return attribute && attribute->kind == Attribute::Kind::float_ ? attribute->f : fallback;
  };
  PostOp op;
  if (node.op_type == "Relu") {
    op.kind = PostOp::Kind::relu;
  } else if (node.op_type == "LeakyRelu") {
    op.kind = PostOp::Kind::leaky_relu;
    op.alpha = float_attribute("alpha", 0.01f);
  } else if (node.op_type == "Sigmoid") {
    op.kind = PostOp::Kind::sigmoid;
  } else if (node.op_type == "Tanh") {
    op.kind = PostOp::Kind::tanh;
  } else if (node.op_type == "HardSigmoid") {
    op.kind = PostOp::Kind::hard_sigmoid;
    op.alpha = float_attribute("alpha", 0.2f);
    op.beta = float_attribute("beta", 0.5f);
  } else if (node.op_type == "HardSwish") {
    op.kind = PostOp::Kind::hard_swish;
  } else if (node.op_type == "Elu") {
    op.kind = PostOp::Kind::elu;
    op.alpha = float_attribute("alpha", 1.0f);
  } else if (node.op_type == "Clip") {
    op.kind = PostOp::Kind::clip;
    op.alpha = -INFINITY;
    op.beta = INFINITY;
    if (node.opset < 11) {
      op.alpha = float_attribute("min", -INFINITY);
      op.beta = float_attribute("max", INFINITY);
    } else {
      for (std::size_t k = 1; k < 3; ++k) {
        if (k >= node.inputs.size() || node.inputs[k] < 0) continue;
        const Tensor* bound = constant_of(graph, live, k);
        if (!bound || bound->dtype() != DataType::float32 || bound->element_count() != 1) return std::nullopt;
        (k == 1 ? op.alpha : op.beta) = bound->values<float>()[0];
      }
    }
    if (!std::isfinite(op.alpha) && !std::isfinite(op.beta)) return std::nullopt;
    if (!std::isfinite(op.alpha)) op.alpha = -3.4e38f;
    if (!std::isfinite(op.beta)) op.beta = 3.4e38f;
  } else {
    return std::nullopt;
  }
  return op;
}

bool accepts_post_ops(const LiveNode& live, const PostOp& op) {
  if (is_default_domain(live, "Conv") || is_default_domain(live, "ConvTranspose")) return true;
  if (is_default_domain(live, "MatMul")) return true;
  if (is_default_domain(live, "BatchNormalization")) return op.kind == PostOp::Kind::relu && live.post_ops.empty();
  return false;
}

// Producer → activation: the activation becomes a post-op of the producer.
Result<bool> fuse_activations(LiveGraph& graph, std::vector<bool>& removed) {
  bool changed = false;
  Uses uses = compute_uses(graph);
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    if (removed[i]) continue;
    LiveNode& activation = graph.nodes[i];
    auto op = activation_post_op(graph, activation);
    if (!op || activation.node.outputs.size() != 1) continue;
    int x = activation.node.inputs[0];
    int p = uses.producer[static_cast<std::size_t>(x)];
    if (p < 0 || removed[static_cast<std::size_t>(p)] || !only_consumer(uses, x, i)) continue;
    LiveNode& producer = graph.nodes[static_cast<std::size_t>(p)];
    if (producer.node.outputs.size() != 1 || !accepts_post_ops(producer, *op)) continue;
    auto saved_post_ops = producer.post_ops;
    auto saved_outputs = producer.node.outputs;
    auto saved_label = producer.label;
    producer.post_ops.push_back(*op);
    producer.node.outputs = activation.node.outputs;
    producer.label = join_label(*graph.graph, producer, activation);
    if (auto status = rebuild(graph, producer); !status) {
      producer.post_ops = saved_post_ops;  // the kernel refused: keep the two nodes
      producer.node.outputs = saved_outputs;
      producer.label = saved_label;
      if (auto again = rebuild(graph, producer); !again) return std::unexpected(again.error());
      continue;
    }
    removed[i] = true;
    changed = true;
    uses = compute_uses(graph);
  }
  return changed;
}

// Conv → Sigmoid, Mul(conv, sigmoid): SiLU / swish as one post-op.
Result<bool> fuse_swish(LiveGraph& graph, std::vector<bool>& removed) {
  bool changed = false;
  Uses uses = compute_uses(graph);
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    if (removed[i] || !is_default_domain(graph.nodes[i], "Mul") || graph.nodes[i].node.inputs.size() != 2) continue;
    LiveNode& mul = graph.nodes[i];
    for (int side = 0; side < 2; ++side) {
      int c = mul.node.inputs[static_cast<std::size_t>(side)];
      int s = mul.node.inputs[static_cast<std::size_t>(1 - side)];
      if (c < 0 || s < 0 || !float32(graph, c)) continue;
      int sig = uses.producer[static_cast<std::size_t>(s)];
      int p = uses.producer[static_cast<std::size_t>(c)];
      if (sig < 0 || p < 0 || removed[static_cast<std::size_t>(sig)] || removed[static_cast<std::size_t>(p)]) continue;
      LiveNode& sigmoid = graph.nodes[static_cast<std::size_t>(sig)];
      LiveNode& conv = graph.nodes[static_cast<std::size_t>(p)];
      if (!is_default_domain(sigmoid, "Sigmoid") || sigmoid.node.inputs[0] != c || !only_consumer(uses, s, i)) continue;
      const auto& consumers = uses.consumers[static_cast<std::size_t>(c)];
      if (uses.graph_output[static_cast<std::size_t>(c)] || consumers.size() != 2) continue;
      if (!is_default_domain(conv, "Conv") || conv.node.outputs.size() != 1) continue;
      if (graph.values[static_cast<std::size_t>(c)].shape != graph.values[static_cast<std::size_t>(mul.node.outputs[0])].shape) continue;
      conv.post_ops.push_back(PostOp{PostOp::Kind::swish});
      auto saved_outputs = conv.node.outputs;
      conv.node.outputs = mul.node.outputs;
      auto saved_label = conv.label;
      conv.label = join_label(*graph.graph, conv, mul);
      if (auto status = rebuild(graph, conv); !status) {
        conv.post_ops.pop_back();
        conv.node.outputs = saved_outputs;
        conv.label = saved_label;
        if (auto again = rebuild(graph, conv); !again) return std::unexpected(again.error());
        continue;
      }
      removed[i] = true;
      removed[static_cast<std::size_t>(sig)] = true;
      changed = true;
      uses = compute_uses(graph);
      break;
    }
  }
  return changed;
}

// Add(conv, residual) with equal shapes: the residual becomes the convolution's sum post-op and
// the fused node takes the Add's place (both operands exist there).
Result<bool> fuse_residual_add(LiveGraph& graph, std::vector<bool>& removed) {
  bool changed = false;
  Uses uses = compute_uses(graph);
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    if (removed[i] || !is_default_domain(graph.nodes[i], "Add") || graph.nodes[i].node.inputs.size() != 2) continue;
    const auto output_shape = graph.values[static_cast<std::size_t>(graph.nodes[i].node.outputs[0])].shape;
    // Prefer the convolution computed last (its residual is more likely dead afterwards).
    int best_side = -1;
    int best_producer = -1;
    for (int side = 0; side < 2; ++side) {
      int a = graph.nodes[i].node.inputs[static_cast<std::size_t>(side)];
      int b = graph.nodes[i].node.inputs[static_cast<std::size_t>(1 - side)];
      if (a < 0 || b < 0 || a == b || !float32(graph, a) || !float32(graph, b)) continue;
      if (graph.values[static_cast<std::size_t>(a)].shape != output_shape || graph.values[static_cast<std::size_t>(b)].shape != output_shape) continue;
      int p = uses.producer[static_cast<std::size_t>(a)];
      if (p < 0 || removed[static_cast<std::size_t>(p)] || !only_consumer(uses, a, i)) continue;
      const LiveNode& conv = graph.nodes[static_cast<std::size_t>(p)];
      if (!is_default_domain(conv, "Conv") || conv.node.outputs.size() != 1) continue;
      bool has_sum = false;
      for (const auto& op : conv.post_ops) has_sum |= op.kind == PostOp::Kind::sum;
      if (has_sum) continue;
      if (p > best_producer) {
        best_producer = p;
        best_side = side;
      }
    }
    if (best_side < 0) continue;
    LiveNode add = std::move(graph.nodes[i]);
    LiveNode conv = std::move(graph.nodes[static_cast<std::size_t>(best_producer)]);
    const int residual = add.node.inputs[static_cast<std::size_t>(1 - best_side)];
    LiveNode fused = std::move(conv);
    while (fused.node.inputs.size() < 3) fused.node.inputs.push_back(-1);
    fused.node.inputs.push_back(residual);
    fused.post_ops.push_back(PostOp{PostOp::Kind::sum, 0, 0, static_cast<int>(fused.node.inputs.size() - 1)});
    fused.node.outputs = add.node.outputs;
    fused.label = join_label(*graph.graph, fused, add);
    if (auto status = rebuild(graph, fused); !status) {
      return std::unexpected(status.error());
    }
    graph.nodes[i] = std::move(fused);
    graph.nodes[static_cast<std::size_t>(best_producer)] = std::move(add);  // placeholder, removed
    removed[static_cast<std::size_t>(best_producer)] = true;
    changed = true;
    uses = compute_uses(graph);
  }
  return changed;
}

// Nodes whose output is their input unchanged (Identity, Dropout in inference, all-zero Pad,
// same-shape Reshape, Cast to the same type): consumers read the input directly.
Result<bool> remove_identities(LiveGraph& graph, std::vector<bool>& removed) {
  bool changed = false;
  Uses uses = compute_uses(graph);
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    LiveNode& live = graph.nodes[i];
    if (removed[i] || live.node.inputs.empty() || live.node.inputs[0] < 0 || live.node.outputs.empty()) continue;
    const int input = live.node.inputs[0];
    const int output = live.node.outputs[0];
    if (output < 0 || live.kernel->outputs.empty() || live.kernel->outputs[0].alias_input != 0) continue;
    bool other_outputs_used = false;
    for (std::size_t o = 1; o < live.node.outputs.size(); ++o) {
      const int id = live.node.outputs[o];
      other_outputs_used = other_outputs_used || (id >= 0 && (!uses.consumers[static_cast<std::size_t>(id)].empty() ||
                                                              uses.graph_output[static_cast<std::size_t>(id)]));
    }
    const auto& in = graph.values[static_cast<std::size_t>(input)];
    const auto& out = graph.values[static_cast<std::size_t>(output)];
    if (other_outputs_used || uses.graph_output[static_cast<std::size_t>(output)] || in.shape != out.shape || in.dtype != out.dtype) continue;
    for (std::size_t consumer : uses.consumers[static_cast<std::size_t>(output)]) {
      for (auto& id : graph.nodes[consumer].node.inputs) {
        if (id == output) id = input;
      }
    }
    removed[i] = true;
    changed = true;
    uses = compute_uses(graph);
  }
  return changed;
}

void compact(LiveGraph& graph, std::vector<bool>& removed) {
  std::vector<LiveNode> kept;
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    if (!removed[i]) kept.push_back(std::move(graph.nodes[i]));
  }
  graph.nodes = std::move(kept);
  removed.assign(graph.nodes.size(), false);
}

}  // namespace

Result<std::size_t> optimize_graph(LiveGraph& graph, const SessionOptions&) {
  const std::size_t before = graph.nodes.size();
  std::vector<bool> removed(graph.nodes.size(), false);
  for (int round = 0; round < 8; ++round) {
    bool changed = false;
    for (auto pass : {remove_identities, fold_batch_norm, fuse_swish, fuse_activations, fuse_residual_add, fuse_activations}) {
      auto result = pass(graph, removed);
      if (!result) return std::unexpected(result.error());
      changed |= *result;
      compact(graph, removed);
    }
    if (!changed) break;
  }
  return before - graph.nodes.size();
}

}  // namespace cloister::engine

// Conv (1D/2D/3D, groups, dilations, pads / auto_pad) on oneDNN; fused activations and residual
// sums arrive as post-ops from the optimiser. Constant weights are reordered once into the
// primitive's preferred layout; src/dst use oneDNN's preferred layouts when blocked layouts are on.
#include "dnnl_util.h"
#include "ops/common.h"
#include "ops/operators.h"
#include "ops/spatial.h"

namespace cloister::engine {

namespace {

using tag = dnnl::memory::format_tag;

tag plain_data_tag(std::size_t rank) {
  switch (rank) {
    case 3: return tag::ncw;
    case 4: return tag::nchw;
    default: return tag::ncdhw;
  }
}

class ConvKernel final : public Kernel {
 public:
  ConvKernel(SpatialGeometry geometry, std::int64_t group, Shape x, Shape w, bool has_bias, std::vector<PostOp> post_ops)
      : geometry_(std::move(geometry)), group_(group), x_(std::move(x)), w_(std::move(w)), has_bias_(has_bias),
        post_ops_(std::move(post_ops)) {}

  Status prepare(const PrepareContext& context) override {
    using dims = dnnl::memory::dims;
    const auto f32 = dnnl::memory::data_type::f32;
    const std::size_t rank = x_.size();
    dims output_dims{x_[0], w_[0]};
    for (auto o : geometry_.output) output_dims.push_back(o);
    dims weight_dims;
    if (group_ > 1) {
      weight_dims = {group_, w_[0] / group_};
      weight_dims.insert(weight_dims.end(), w_.begin() + 1, w_.end());
    } else {
      weight_dims = dims(w_.begin(), w_.end());
    }
    const dnnl::memory::desc actual_src = value_desc(*context.inputs[0]);
    const dnnl::memory::desc plain_weights = plain_desc(DataType::float32, Shape(weight_dims.begin(), weight_dims.end()));
    const bool blocked = context.blocked_layouts;
    dnnl::memory::desc src_any = blocked ? dnnl::memory::desc(dnnl_dims(x_), f32, tag::any) : plain_desc(DataType::float32, x_);
    dnnl::memory::desc dst_any = blocked ? dnnl::memory::desc(output_dims, f32, tag::any)
                                         : dnnl::memory::desc(output_dims, f32, plain_data_tag(rank));
    const bool constant_weights = static_cast<bool>(context.inputs[1]->constant);
    dnnl::memory::desc weights_any = constant_weights ? dnnl::memory::desc(weight_dims, f32, tag::any) : plain_weights;
    dnnl::memory::desc bias_desc = has_bias_ ? dnnl::memory::desc({w_[0]}, f32, tag::x) : dnnl::memory::desc();

    std::vector<PrimitiveRunner::Argument> arguments;
    dnnl::post_ops operations;
    append_post_ops(post_ops_, context, operations, arguments);
    dnnl::primitive_attr attributes;
    attributes.set_post_ops(operations);
    attributes.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    auto descriptor = dnnl::convolution_forward::desc(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_any, weights_any, bias_desc, dst_any,
        geometry_.strides, dnnl_dilations(geometry_), geometry_.pad_begin, geometry_.dnnl_pad_end);
    dnnl::convolution_forward::primitive_desc primitive(descriptor, attributes, cpu_engine());
    implementation_ = implementation_name(primitive);

    // Scratch: [src in the primitive's layout][weights in its layout][oneDNN scratchpad].
    std::size_t offset = 0;
    auto take = [&](std::size_t bytes) {
      std::size_t at = offset;
      offset += (bytes + 63) / 64 * 64;
      return at;
    };
    PrimitiveRunner::Argument src{DNNL_ARG_SRC, primitive.src_desc(), PrimitiveRunner::Argument::Source::input, 0, nullptr};
    if (primitive.src_desc() != actual_src) {
      std::size_t at = take(primitive.src_desc().get_size());
      src_reorder_ = PrimitiveRunner(dnnl::reorder(dnnl::reorder::primitive_desc(cpu_engine(), actual_src, cpu_engine(), primitive.src_desc())),
                                     {{DNNL_ARG_FROM, actual_src, PrimitiveRunner::Argument::Source::input, 0, nullptr},
                                      {DNNL_ARG_TO, primitive.src_desc(), PrimitiveRunner::Argument::Source::scratch, at, nullptr}});
      src.source = PrimitiveRunner::Argument::Source::scratch;
      src.index = at;
    }
    arguments.push_back(src);
    if (constant_weights) {
      weights_ = reorder_constant(*context.inputs[1]->constant, plain_weights, primitive.weights_desc());
      capture_input(1);
      arguments.push_back({DNNL_ARG_WEIGHTS, primitive.weights_desc(), PrimitiveRunner::Argument::Source::constant, 0, weights_.data.get()});
    } else if (primitive.weights_desc() != plain_weights) {
      std::size_t at = take(primitive.weights_desc().get_size());
      weights_reorder_ = PrimitiveRunner(
          dnnl::reorder(dnnl::reorder::primitive_desc(cpu_engine(), plain_weights, cpu_engine(), primitive.weights_desc())),
          {{DNNL_ARG_FROM, plain_weights, PrimitiveRunner::Argument::Source::input, 1, nullptr},
           {DNNL_ARG_TO, primitive.weights_desc(), PrimitiveRunner::Argument::Source::scratch, at, nullptr}});
      arguments.push_back({DNNL_ARG_WEIGHTS, primitive.weights_desc(), PrimitiveRunner::Argument::Source::scratch, at, nullptr});
    } else {
      arguments.push_back({DNNL_ARG_WEIGHTS, plain_weights, PrimitiveRunner::Argument::Source::input, 1, nullptr});
    }
    if (has_bias_) arguments.push_back({DNNL_ARG_BIAS, primitive.bias_desc(), PrimitiveRunner::Argument::Source::input, 2, nullptr});
    arguments.push_back({DNNL_ARG_DST, primitive.dst_desc(), PrimitiveRunner::Argument::Source::output, 0, nullptr});
    std::size_t scratchpad = primitive.scratchpad_desc().get_size();
    if (scratchpad) {
      std::size_t at = take(scratchpad);
      arguments.push_back({DNNL_ARG_SCRATCHPAD, primitive.scratchpad_desc(), PrimitiveRunner::Argument::Source::scratch, at, nullptr});
    }
    scratch_bytes = offset;
    outputs[0].layout = make_layout(primitive.dst_desc(), DataType::float32, outputs[0].shape);
    if (auto status = prefill_.prepare(post_ops_, context, primitive.dst_desc()); !status) return status;
    runner_ = PrimitiveRunner(dnnl::convolution_forward(primitive), std::move(arguments));
    return {};
  }

  Status run(const RunContext& context) const override {
    if (src_reorder_.valid()) src_reorder_.execute(context, 1);
    if (weights_reorder_.valid()) weights_reorder_.execute(context, 2);
    prefill_.run(context, 3);
    runner_.execute(context, 0);
    return {};
  }

  std::string describe() const override {
    std::string text = "Conv[" + implementation_ + "]";
    for (const auto& post_op : post_ops_) text += post_op.kind == PostOp::Kind::sum ? "+Add" : "+Act";
    return text;
  }

 private:
  SpatialGeometry geometry_;
  std::int64_t group_;
  Shape x_, w_;
  bool has_bias_;
  std::vector<PostOp> post_ops_;
  OwnedBuffer weights_;
  PrimitiveRunner runner_, src_reorder_, weights_reorder_;
  ResidualPrefill prefill_;
  std::string implementation_;
};

}  // namespace

Result<std::unique_ptr<Kernel>> make_conv(NodeContext& context) {
  auto x = context.required_input(0);
  if (!x) return std::unexpected(x.error());
  auto w = context.required_input(1);
  if (!w) return std::unexpected(w.error());
  if ((*x)->dtype != DataType::float32) return context.unsupported_type((*x)->dtype);
  if ((*w)->dtype != DataType::float32) return context.unsupported_type((*w)->dtype);
  const Shape& xs = (*x)->shape;
  const Shape& ws = (*w)->shape;
  if (xs.size() < 3 || xs.size() > 5) return context.unsupported("only 1D, 2D and 3D convolutions are supported (input rank 3 to 5)");
  if (ws.size() != xs.size()) return context.invalid("weights rank " + std::to_string(ws.size()) + " differs from input rank " + std::to_string(xs.size()));
  auto group = context.attribute_int("group", 1);
  if (!group) return std::unexpected(group.error());
  if (*group <= 0 || xs[1] % *group != 0 || ws[0] % *group != 0) return context.invalid("group " + std::to_string(*group) + " does not divide the channels");
  if (ws[1] != xs[1] / *group) {
    return context.invalid("weights " + shape_to_string(ws) + " do not match input channels " + std::to_string(xs[1]) + " / group " + std::to_string(*group));
  }
  std::vector<std::int64_t> kernel(ws.begin() + 2, ws.end());
  auto kernel_shape = context.attribute_ints("kernel_shape", kernel);
  if (!kernel_shape) return std::unexpected(kernel_shape.error());
  if (*kernel_shape != kernel) return context.invalid("kernel_shape does not match the weights");
  bool has_bias = context.has_input(2);
  if (has_bias) {
    const ValueInfo* b = context.input(2);
    if (b->dtype != DataType::float32) return context.unsupported_type(b->dtype);
    if (b->shape != Shape{ws[0]}) return context.invalid("bias shape " + shape_to_string(b->shape) + " is not [" + std::to_string(ws[0]) + "]");
  }
  for (auto d : xs) {
    if (d == 0) return context.unsupported("empty inputs are not supported");
  }
  auto geometry = resolve_spatial(context, std::span(xs).subspan(2), kernel, false, true);
  if (!geometry) return std::unexpected(geometry.error());
  Shape output_shape{xs[0], ws[0]};
  output_shape.insert(output_shape.end(), geometry->output.begin(), geometry->output.end());
  double flops = 2.0 * static_cast<double>(shape_element_count(output_shape)) * static_cast<double>(ws[1]) *
                 static_cast<double>(product(ws, 2, ws.size()));
  std::vector<PostOp> post_ops(context.post_ops().begin(), context.post_ops().end());
  auto kernel_object = std::make_unique<ConvKernel>(std::move(*geometry), *group, xs, ws, has_bias, std::move(post_ops));
  kernel_object->outputs.push_back(output(DataType::float32, output_shape));
  for (const auto& post_op : context.post_ops()) {
    if (post_op.kind != PostOp::Kind::sum) continue;
    const ValueInfo* residual = context.input(static_cast<std::size_t>(post_op.input));
    if (!residual || residual->shape != output_shape || residual->dtype != DataType::float32) {
      return context.invalid("the fused residual does not match the convolution output");
    }
    kernel_object->outputs[0].alias_input = post_op.input;
    kernel_object->outputs[0].destructive = true;
  }
  kernel_object->flops = flops;
  return std::unique_ptr<Kernel>(std::move(kernel_object));
}

}  // namespace cloister::engine

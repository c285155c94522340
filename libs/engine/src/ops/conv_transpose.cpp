// ConvTranspose (1D/2D/3D, groups, dilations, pads / auto_pad, output_padding, output_shape) on
// oneDNN's deconvolution.
#include "dnnl_util.h"
#include "ops/common.h"
#include "ops/operators.h"

namespace cloister::engine {

namespace {

using tag = dnnl::memory::format_tag;

class ConvTransposeKernel final : public Kernel {
 public:
  ConvTransposeKernel(Shape x, Shape w, std::int64_t group, bool has_bias, std::vector<std::int64_t> strides,
                      std::vector<std::int64_t> dilations, std::vector<std::int64_t> pad_begin, std::vector<std::int64_t> pad_end,
                      std::vector<PostOp> post_ops)
      : x_(std::move(x)), w_(std::move(w)), group_(group), has_bias_(has_bias), strides_(std::move(strides)),
        dilations_(std::move(dilations)), pad_begin_(std::move(pad_begin)), pad_end_(std::move(pad_end)),
        post_ops_(std::move(post_ops)) {}

  Status prepare(const PrepareContext& context) override {
    using dims = dnnl::memory::dims;
    const auto f32 = dnnl::memory::data_type::f32;
    const Shape& y = outputs[0].shape;
    const std::int64_t in_per_group = w_[0] / group_;
    const std::int64_t out_per_group = w_[1];
    const std::int64_t spatial = product(w_, 2, w_.size());
    // ONNX weights [C_in, C_out/group, k...] as oneDNN (g,) o, i, k... with explicit strides.
    dims weight_dims, weight_strides;
    if (group_ > 1) {
      weight_dims = {group_, out_per_group, in_per_group};
      weight_strides = {in_per_group * out_per_group * spatial, spatial, out_per_group * spatial};
    } else {
      weight_dims = {out_per_group, in_per_group};
      weight_strides = {spatial, out_per_group * spatial};
    }
    auto kernel_strides = strides_of(Shape(w_.begin() + 2, w_.end()));
    weight_dims.insert(weight_dims.end(), w_.begin() + 2, w_.end());
    weight_strides.insert(weight_strides.end(), kernel_strides.begin(), kernel_strides.end());
    const dnnl::memory::desc onnx_weights(weight_dims, f32, weight_strides);
    const dnnl::memory::desc actual_src = value_desc(*context.inputs[0]);
    const bool blocked = context.blocked_layouts;
    const bool constant_weights = static_cast<bool>(context.inputs[1]->constant);
    dnnl::memory::desc src_any = blocked ? dnnl::memory::desc(dnnl_dims(x_), f32, tag::any) : plain_desc(DataType::float32, x_);
    dnnl::memory::desc dst_any = blocked ? dnnl::memory::desc(dnnl_dims(y), f32, tag::any) : plain_desc(DataType::float32, y);
    dnnl::memory::desc weights_any = constant_weights ? dnnl::memory::desc(weight_dims, f32, tag::any) : onnx_weights;
    dnnl::memory::desc bias_desc = has_bias_ ? dnnl::memory::desc({y[1]}, f32, tag::x) : dnnl::memory::desc();
    std::vector<std::int64_t> dnnl_dilations;
    for (auto d : dilations_) dnnl_dilations.push_back(d - 1);

    std::vector<PrimitiveRunner::Argument> arguments;
    dnnl::post_ops operations;
    append_post_ops(post_ops_, context, operations, arguments);
    dnnl::primitive_attr attributes;
    attributes.set_post_ops(operations);
    attributes.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    auto descriptor = dnnl::deconvolution_forward::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::deconvolution_direct,
                                                        src_any, weights_any, bias_desc, dst_any, strides_, dnnl_dilations,
                                                        pad_begin_, pad_end_);
    dnnl::deconvolution_forward::primitive_desc primitive(descriptor, attributes, cpu_engine());
    implementation_ = implementation_name(primitive);
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
      weights_ = reorder_constant(*context.inputs[1]->constant, onnx_weights, primitive.weights_desc());
      capture_input(1);
      arguments.push_back({DNNL_ARG_WEIGHTS, primitive.weights_desc(), PrimitiveRunner::Argument::Source::constant, 0, weights_.data.get()});
    } else if (primitive.weights_desc() != onnx_weights) {
      std::size_t at = take(primitive.weights_desc().get_size());
      weights_reorder_ = PrimitiveRunner(
          dnnl::reorder(dnnl::reorder::primitive_desc(cpu_engine(), onnx_weights, cpu_engine(), primitive.weights_desc())),
          {{DNNL_ARG_FROM, onnx_weights, PrimitiveRunner::Argument::Source::input, 1, nullptr},
           {DNNL_ARG_TO, primitive.weights_desc(), PrimitiveRunner::Argument::Source::scratch, at, nullptr}});
      arguments.push_back({DNNL_ARG_WEIGHTS, primitive.weights_desc(), PrimitiveRunner::Argument::Source::scratch, at, nullptr});
    } else {
      arguments.push_back({DNNL_ARG_WEIGHTS, onnx_weights, PrimitiveRunner::Argument::Source::input, 1, nullptr});
    }
    if (has_bias_) arguments.push_back({DNNL_ARG_BIAS, primitive.bias_desc(), PrimitiveRunner::Argument::Source::input, 2, nullptr});
    arguments.push_back({DNNL_ARG_DST, primitive.dst_desc(), PrimitiveRunner::Argument::Source::output, 0, nullptr});
    if (std::size_t scratchpad = primitive.scratchpad_desc().get_size()) {
      std::size_t at = take(scratchpad);
      arguments.push_back({DNNL_ARG_SCRATCHPAD, primitive.scratchpad_desc(), PrimitiveRunner::Argument::Source::scratch, at, nullptr});
    }
    scratch_bytes = offset;
    outputs[0].layout = make_layout(primitive.dst_desc(), DataType::float32, outputs[0].shape);
    runner_ = PrimitiveRunner(dnnl::deconvolution_forward(primitive), std::move(arguments));
    return {};
  }

  Status run(const RunContext& context) const override {
    if (src_reorder_.valid()) src_reorder_.execute(context, 1);
    if (weights_reorder_.valid()) weights_reorder_.execute(context, 2);
    runner_.execute(context, 0);
    return {};
  }

  std::string describe() const override { return "ConvTranspose[" + implementation_ + "]"; }

 private:
  Shape x_, w_;
  std::int64_t group_;
  bool has_bias_;
  std::vector<std::int64_t> strides_, dilations_, pad_begin_, pad_end_;
  std::vector<PostOp> post_ops_;
  OwnedBuffer weights_;
  PrimitiveRunner runner_, src_reorder_, weights_reorder_;
  std::string implementation_;
};

// kernel == stride, no padding, dilation or groups (the U-Net upsampling layer): every input
// voxel owns one k x k (x k) block of the output, so the layer is one small GEMM per kernel tap,
// [voxels, C_in] x [C_in, C_out], each writing its tap's positions of a channels-last output
// directly (strided). oneDNN's generic deconvolution is several times slower here.
class TapConvTransposeKernel final : public Kernel {
 public:
  TapConvTransposeKernel(Shape x, Shape w, bool has_bias, std::vector<PostOp> post_ops)
      : x_(std::move(x)), w_(std::move(w)), has_bias_(has_bias), post_ops_(std::move(post_ops)) {}

  Status prepare(const PrepareContext& context) override {
    using dims = dnnl::memory::dims;
    const auto f32 = dnnl::memory::data_type::f32;
    const std::size_t spatial = x_.size() - 2;
    const std::int64_t n = x_[0], cin = x_[1], cout = w_[1];
    const Shape& y = outputs[0].shape;
    const std::int64_t taps = product(w_, 2, w_.size());
    // Channels-last descriptors of x and y (logical dims stay N, C, spatial...).
    auto channels_last = [&](const Shape& shape) {
      dims strides(shape.size());
      std::int64_t stride = 1;
      strides[1] = stride;
      stride *= shape[1];
      for (std::size_t i = shape.size(); i-- > 2;) {
        strides[i] = stride;
        stride *= shape[i];
      }
      strides[0] = stride;
      return dnnl::memory::desc(dnnl_dims(shape), f32, strides);
    };
    const auto x_channels_last = channels_last(x_);
    const auto y_channels_last = channels_last(y);
    const auto actual_src = value_desc(*context.inputs[0]);
    std::size_t offset = 0;
    using Source = PrimitiveRunner::Argument::Source;
    Source src_source = Source::input;
    std::size_t src_index = 0;
    if (actual_src != x_channels_last) {
      src_reorder_ = PrimitiveRunner(dnnl::reorder(dnnl::reorder::primitive_desc(cpu_engine(), actual_src, cpu_engine(), x_channels_last)),
                                     {{DNNL_ARG_FROM, actual_src, Source::input, 0, nullptr},
                                      {DNNL_ARG_TO, x_channels_last, Source::scratch, 0, nullptr}});
      src_source = Source::scratch;
      src_index = 0;
      offset = (x_channels_last.get_size() + 63) / 64 * 64;
    }
    // Matmul view: batch dims (N, d1, ..., d_{s-1}), M = last spatial, K = C_in.
    dims src_dims{n}, src_strides{x_channels_last.data.format_desc.blocking.strides[0]};
    dims dst_dims{n}, dst_strides{y_channels_last.data.format_desc.blocking.strides[0]};
    for (std::size_t i = 0; i < spatial; ++i) {
      src_dims.push_back(x_[2 + i]);
      src_strides.push_back(x_channels_last.data.format_desc.blocking.strides[2 + i]);
      dst_dims.push_back(x_[2 + i]);
      dst_strides.push_back(y_channels_last.data.format_desc.blocking.strides[2 + i] * w_[2 + i]);  // every k-th position
    }
    src_dims.push_back(cin);
    src_strides.push_back(1);
    dst_dims.push_back(cout);
    dst_strides.push_back(1);
    const dnnl::memory::desc src_md(src_dims, f32, src_strides);
    const dnnl::memory::desc dst_md(dst_dims, f32, dst_strides);
    dims weight_dims(src_dims.size(), 1);
    weight_dims[weight_dims.size() - 2] = cin;
    weight_dims[weight_dims.size() - 1] = cout;
    dims bias_dims(src_dims.size(), 1);
    bias_dims.back() = cout;
    const dnnl::memory::desc bias_md = has_bias_ ? dnnl::memory::desc(bias_dims, f32, dnnl::memory::format_tag::any) : dnnl::memory::desc();
    const bool constant_weights = static_cast<bool>(context.inputs[1]->constant);
    dnnl::post_ops operations;
    std::vector<PrimitiveRunner::Argument> unused;
    append_post_ops(post_ops_, context, operations, unused);
    dnnl::primitive_attr attributes;
    attributes.set_post_ops(operations);
    attributes.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    // Weights of tap t: W[c, o, t] (ONNX layout [C_in, C_out, k...]) — strided views.
    dims tap_weight_strides(weight_dims.size(), 0);
    tap_weight_strides[tap_weight_strides.size() - 2] = cout * taps;
    tap_weight_strides[tap_weight_strides.size() - 1] = taps;
    for (std::size_t i = 0; i + 2 < tap_weight_strides.size(); ++i) tap_weight_strides[i] = cin * cout * taps;
    const dnnl::memory::desc tap_weights(weight_dims, f32, tap_weight_strides);
    auto weights_any = constant_weights ? dnnl::memory::desc(weight_dims, f32, dnnl::memory::format_tag::any) : tap_weights;
    dnnl::matmul::primitive_desc primitive(dnnl::matmul::desc(src_md, weights_any, bias_md, dst_md), attributes, cpu_engine());
    implementation_ = implementation_name(primitive);
    const auto y_strides = y_channels_last.data.format_desc.blocking.strides;
    for (std::int64_t t = 0; t < taps; ++t) {
      // Output offset of tap t: its kernel coordinates times the output strides.
      std::int64_t rest = t, tap_offset = 0;
      for (std::size_t i = spatial; i-- > 0;) {
        tap_offset += (rest % w_[2 + i]) * y_strides[2 + i];
        rest /= w_[2 + i];
      }
      std::vector<PrimitiveRunner::Argument> arguments{{DNNL_ARG_SRC, src_md, src_source, src_index, nullptr}};
      if (constant_weights) {
        // The tap's weights, packed once into the primitive's layout.
        Tensor tap(DataType::float32, {cin, cout});
        const float* all = context.inputs[1]->constant->data<float>();
        for (std::int64_t c = 0; c < cin; ++c) {
          for (std::int64_t o = 0; o < cout; ++o) tap.data<float>()[c * cout + o] = all[(c * cout + o) * taps + t];
        }
        tap_weights_.push_back(reorder_constant(tap, dnnl::memory::desc(weight_dims, f32, plain_strides(weight_dims)), primitive.weights_desc()));
        arguments.push_back({DNNL_ARG_WEIGHTS, primitive.weights_desc(), Source::constant, 0, tap_weights_.back().data.get()});
      } else {
        // Runtime weights: the strided view needs the tap's base offset; the argument points
        // at the input buffer, shifted per tap through a dedicated slot (see run()).
        arguments.push_back({DNNL_ARG_WEIGHTS, tap_weights, Source::input, 1, nullptr});
      }
      if (has_bias_) arguments.push_back({DNNL_ARG_BIAS, primitive.bias_desc(), Source::input, 2, nullptr});
      arguments.push_back({DNNL_ARG_DST, dst_md, Source::output, 0, nullptr});
      if (primitive.scratchpad_desc().get_size() > 0) {
        arguments.push_back({DNNL_ARG_SCRATCHPAD, primitive.scratchpad_desc(), Source::scratch, offset, nullptr});
      }
      tap_offsets_.push_back(tap_offset);
      runners_.emplace_back(dnnl::matmul(primitive), std::move(arguments));
    }
    if (constant_weights) capture_input(1);
    scratch_bytes = offset + primitive.scratchpad_desc().get_size();
    runtime_weights_ = !constant_weights;
    taps_ = taps;
    outputs[0].layout = make_layout(y_channels_last, DataType::float32, y);
    return {};
  }

  Status run(const RunContext& context) const override {
    if (src_reorder_.valid()) src_reorder_.execute(context, 0);
    for (std::size_t t = 0; t < runners_.size(); ++t) {
      // Each tap writes its own positions: shift the output (and runtime weights) pointers.
      std::vector<const void*> inputs(context.inputs.begin(), context.inputs.end());
      if (runtime_weights_) inputs[1] = static_cast<const float*>(context.inputs[1]) + static_cast<std::int64_t>(t);
      void* output = static_cast<float*>(context.outputs[0]) + tap_offsets_[t];
      RunContext tap = context;
      tap.inputs = inputs;
      tap.outputs = std::span<void* const>(&output, 1);
      runners_[t].execute(tap, t + 1);
    }
    return {};
  }

  std::string describe() const override { return "ConvTranspose[taps:" + implementation_ + "]"; }

 private:
  static dnnl::memory::dims plain_strides(const dnnl::memory::dims& dims) {
    dnnl::memory::dims strides(dims.size());
    dnnl::memory::dim stride = 1;
    for (std::size_t i = dims.size(); i-- > 0;) {
      strides[i] = stride;
      stride *= dims[i];
    }
    return strides;
  }

  Shape x_, w_;
  bool has_bias_;
  std::vector<PostOp> post_ops_;
  std::vector<OwnedBuffer> tap_weights_;
  std::vector<std::int64_t> tap_offsets_;
  std::vector<PrimitiveRunner> runners_;
  PrimitiveRunner src_reorder_;
  bool runtime_weights_ = false;
  std::int64_t taps_ = 0;
  std::string implementation_;
};

}  // namespace

Result<std::unique_ptr<Kernel>> make_conv_transpose(NodeContext& context) {
  auto x = context.required_input(0);
  if (!x) return std::unexpected(x.error());
  auto w = context.required_input(1);
  if (!w) return std::unexpected(w.error());
  if ((*x)->dtype != DataType::float32) return context.unsupported_type((*x)->dtype);
  if ((*w)->dtype != DataType::float32) return context.unsupported_type((*w)->dtype);
  const Shape& xs = (*x)->shape;
  const Shape& ws = (*w)->shape;
  if (xs.size() < 3 || xs.size() > 5) return context.unsupported("only 1D, 2D and 3D transposed convolutions are supported");
  if (ws.size() != xs.size()) return context.invalid("weights rank differs from input rank");
  auto group = context.attribute_int("group", 1);
  if (!group) return std::unexpected(group.error());
  if (*group <= 0 || xs[1] % *group != 0) return context.invalid("group does not divide the input channels");
  if (ws[0] != xs[1]) return context.invalid("weights " + shape_to_string(ws) + " do not match input channels " + std::to_string(xs[1]));
  for (auto d : xs) {
    if (d == 0) return context.unsupported("empty inputs are not supported");
  }
  const std::size_t n = xs.size() - 2;
  std::vector<std::int64_t> kernel(ws.begin() + 2, ws.end());
  auto kernel_shape = context.attribute_ints("kernel_shape", kernel);
  if (!kernel_shape) return std::unexpected(kernel_shape.error());
  if (*kernel_shape != kernel) return context.invalid("kernel_shape does not match the weights");
  auto read = [&](const char* name, std::int64_t fallback) -> Result<std::vector<std::int64_t>> {
    auto values = context.attribute_ints(name, std::vector<std::int64_t>(n, fallback));
    if (!values) return std::unexpected(values.error());
    if (values->empty()) values->assign(n, fallback);
    if (values->size() != n) return context.invalid(std::string(name) + " needs one entry per spatial dimension");
    return *values;
  };
  auto strides = read("strides", 1);
  if (!strides) return std::unexpected(strides.error());
  auto dilations = read("dilations", 1);
  if (!dilations) return std::unexpected(dilations.error());
  auto output_padding = read("output_padding", 0);
  if (!output_padding) return std::unexpected(output_padding.error());
  auto pads = context.attribute_ints("pads", std::vector<std::int64_t>(2 * n, 0));
  if (!pads) return std::unexpected(pads.error());
  if (pads->empty()) pads->assign(2 * n, 0);
  if (pads->size() != 2 * n) return context.invalid("pads needs two entries per spatial dimension");
  auto output_shape = context.attribute_ints("output_shape");
  if (!output_shape) return std::unexpected(output_shape.error());
  auto auto_pad = context.attribute_string("auto_pad", "NOTSET");
  if (!auto_pad) return std::unexpected(auto_pad.error());
  if (*auto_pad != "NOTSET" && *auto_pad != "SAME_UPPER" && *auto_pad != "SAME_LOWER" && *auto_pad != "VALID") {
    return context.invalid("auto_pad '" + *auto_pad + "' is not valid");
  }
  std::vector<std::int64_t> requested;
  if (!output_shape->empty()) {
    requested = *output_shape;
    if (requested.size() == n + 2) requested.erase(requested.begin(), requested.begin() + 2);
    if (requested.size() != n) return context.invalid("output_shape needs one entry per spatial dimension");
  } else if (*auto_pad == "SAME_UPPER" || *auto_pad == "SAME_LOWER") {
    for (std::size_t i = 0; i < n; ++i) requested.push_back(xs[2 + i] * (*strides)[i]);
  }
  std::vector<std::int64_t> pad_begin(n), pad_end(n);
  Shape out{xs[0], ws[1] * *group};
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t s = (*strides)[i], d = (*dilations)[i], op = (*output_padding)[i];
    if (s <= 0 || d <= 0 || op < 0) return context.invalid("strides, dilations and output_padding must be positive");
    constexpr std::int64_t kMaxGeometry = std::int64_t{1} << 30;  // keeps the arithmetic below in range
    if (s > kMaxGeometry || d > kMaxGeometry || op > kMaxGeometry || kernel[i] > kMaxGeometry || (*pads)[i] > kMaxGeometry ||
        (*pads)[i + n] > kMaxGeometry || (*pads)[i] < -kMaxGeometry || (*pads)[i + n] < -kMaxGeometry ||
        (!requested.empty() && (requested[i] > kMaxGeometry || requested[i] < 0))) {
      return context.invalid("strides, dilations, pads, output_padding or output_shape are out of range");
    }
    const std::int64_t full = s * (xs[2 + i] - 1) + op + (kernel[i] - 1) * d + 1;
    if (!requested.empty()) {
      // total < 0 (an output larger than the full result) gives negative end padding: extra
      // outputs that only the bias reaches. Halves round down, as in the ONNX reference.
      const std::int64_t total = full - requested[i];
      const std::int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);
      if (*auto_pad == "SAME_UPPER") {
        pad_begin[i] = half;
        pad_end[i] = total - half;
      } else {
        pad_begin[i] = total - half;
        pad_end[i] = half;
      }
    } else if (*auto_pad != "VALID") {
      pad_begin[i] = (*pads)[i];
      pad_end[i] = (*pads)[i + n];
    }
    if (pad_begin[i] < 0) return context.unsupported("negative begin pads are not supported");
    const std::int64_t size = full - pad_begin[i] - pad_end[i];
    if (size <= 0) return context.invalid("the output would be empty");
    out.push_back(size);
    // oneDNN has no output_padding: the extra rows come from a smaller end padding.
    pad_end[i] -= op;
  }
  bool has_bias = context.has_input(2);
  if (has_bias && context.input(2)->shape != Shape{out[1]}) return context.invalid("bias shape does not match the output channels");
  double flops = 2.0 * static_cast<double>(shape_element_count(xs)) * static_cast<double>(ws[1]) * static_cast<double>(product(ws, 2, ws.size()));
  std::vector<PostOp> post_ops(context.post_ops().begin(), context.post_ops().end());
  bool taps = *group == 1 && xs[0] > 0;
  for (std::size_t i = 0; i < n; ++i) {
    taps = taps && kernel[i] == (*strides)[i] && (*dilations)[i] == 1 && pad_begin[i] == 0 && pad_end[i] == 0 &&
           (*output_padding)[i] == 0;
  }
  if (taps) {
    auto tap_kernel = std::make_unique<TapConvTransposeKernel>(xs, ws, has_bias, std::move(post_ops));
    tap_kernel->outputs.push_back(output(DataType::float32, out));
    tap_kernel->flops = flops;
    return std::unique_ptr<Kernel>(std::move(tap_kernel));
  }
  auto kernel_object = std::make_unique<ConvTransposeKernel>(xs, ws, *group, has_bias, *strides, *dilations, pad_begin, pad_end,
                                                             std::move(post_ops));
  kernel_object->outputs.push_back(output(DataType::float32, out));
  kernel_object->flops = flops;
  return std::unique_ptr<Kernel>(std::move(kernel_object));
}

}  // namespace cloister::engine

// BatchNormalization (inference: running statistics) on oneDNN, any layout; a following Relu may
// be fused. Training mode is not supported.
#include "dnnl_util.h"
#include "ops/common.h"
#include "ops/operators.h"

namespace cloister::engine {

namespace {

class BatchNormKernel final : public Kernel {
 public:
  BatchNormKernel(float epsilon, bool relu) : epsilon_(epsilon), relu_(relu) {}

  Status prepare(const PrepareContext& context) override {
    const dnnl::memory::desc src = value_desc(*context.inputs[0]);
    auto flags = dnnl::normalization_flags::use_global_stats | dnnl::normalization_flags::use_scale |
                 dnnl::normalization_flags::use_shift;
    if (relu_) flags |= dnnl::normalization_flags::fuse_norm_relu;
    auto descriptor = dnnl::batch_normalization_forward::desc(dnnl::prop_kind::forward_inference, src, epsilon_, flags);
    dnnl::primitive_attr attributes;
    attributes.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::batch_normalization_forward::primitive_desc primitive(descriptor, attributes, cpu_engine());
    implementation_ = implementation_name(primitive);
    const std::int64_t channels = outputs[0].shape[1];
    const dnnl::memory::desc vector({channels}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::x);
    using Source = PrimitiveRunner::Argument::Source;
    std::vector<PrimitiveRunner::Argument> arguments{{DNNL_ARG_SRC, src, Source::input, 0, nullptr},
                                                     {DNNL_ARG_SCALE, vector, Source::input, 1, nullptr},
                                                     {DNNL_ARG_SHIFT, vector, Source::input, 2, nullptr},
                                                     {DNNL_ARG_MEAN, vector, Source::input, 3, nullptr},
                                                     {DNNL_ARG_VARIANCE, vector, Source::input, 4, nullptr},
                                                     {DNNL_ARG_DST, primitive.dst_desc(), Source::output, 0, nullptr}};
    if (std::size_t scratchpad = primitive.scratchpad_desc().get_size()) {
      arguments.push_back({DNNL_ARG_SCRATCHPAD, primitive.scratchpad_desc(), Source::scratch, 0, nullptr});
      scratch_bytes = scratchpad;
    }
    outputs[0].layout = make_layout(primitive.dst_desc(), DataType::float32, outputs[0].shape);
    runner_ = PrimitiveRunner(dnnl::batch_normalization_forward(primitive), std::move(arguments));
    return {};
  }

  Status run(const RunContext& context) const override {
    runner_.execute(context);
    return {};
  }

  std::string describe() const override { return std::string("BatchNormalization[") + implementation_ + (relu_ ? "]+Relu" : "]"); }

 private:
  float epsilon_;
  bool relu_;
  PrimitiveRunner runner_;
  std::string implementation_;
};

}  // namespace

Result<std::unique_ptr<Kernel>> make_batch_normalization(NodeContext& context) {
  auto x = context.required_input(0);
  if (!x) return std::unexpected(x.error());
  if ((*x)->dtype != DataType::float32) return context.unsupported_type((*x)->dtype);
  const Shape& shape = (*x)->shape;
  if (shape.size() < 2) return context.invalid("input rank must be 2 or more");
  for (std::size_t i = 1; i < 5; ++i) {
    auto input = context.required_input(i);
    if (!input) return std::unexpected(input.error());
    if ((*input)->dtype != DataType::float32) return context.unsupported_type((*input)->dtype);
    if ((*input)->shape != Shape{shape[1]}) {
      return context.invalid("scale, B, mean and var must have shape [" + std::to_string(shape[1]) + "]");
    }
  }
  if (context.opset() < 9) {
    auto spatial = context.attribute_int("spatial", 1);
    if (!spatial) return std::unexpected(spatial.error());
    if (*spatial != 1) return context.unsupported("spatial=0 is not supported");
  }
  auto training = context.attribute_int("training_mode", 0);
  if (!training) return std::unexpected(training.error());
  if (*training != 0 || context.output_count() > 1) return context.unsupported("training mode is not supported");
  auto epsilon = context.attribute_float("epsilon", 1e-5f);
  if (!epsilon) return std::unexpected(epsilon.error());
  for (auto d : shape) {
    if (d == 0) return context.unsupported("empty inputs are not supported");
  }
  if (shape.size() > 5) return context.unsupported("inputs of rank above 5 are not supported");
  bool relu = !context.post_ops().empty() && context.post_ops()[0].kind == PostOp::Kind::relu;
  auto kernel = std::make_unique<BatchNormKernel>(*epsilon, relu);
  kernel->outputs.push_back(output(DataType::float32, shape));
  return std::unique_ptr<Kernel>(std::move(kernel));
}

}  // namespace cloister::engine

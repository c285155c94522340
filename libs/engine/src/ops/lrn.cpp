// LRN: local response normalisation across channels (oneDNN).
#include "dnnl_util.h"
#include "ops/common.h"
#include "ops/operators.h"

namespace cloister::engine {

namespace {

class LrnKernel final : public Kernel {
 public:
  LrnKernel(std::int64_t size, float alpha, float beta, float bias) : size_(size), alpha_(alpha), beta_(beta), bias_(bias) {}

  Status prepare(const PrepareContext& context) override {
    const auto src = value_desc(*context.inputs[0]);
    auto descriptor = dnnl::lrn_forward::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::lrn_across_channels, src,
                                              size_, alpha_, beta_, bias_);
    dnnl::primitive_attr attributes;
    attributes.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::lrn_forward::primitive_desc primitive(descriptor, attributes, cpu_engine());
    using Source = PrimitiveRunner::Argument::Source;
    std::vector<PrimitiveRunner::Argument> arguments{{DNNL_ARG_SRC, src, Source::input, 0, nullptr},
                                                     {DNNL_ARG_DST, primitive.dst_desc(), Source::output, 0, nullptr}};
    if (std::size_t scratchpad = primitive.scratchpad_desc().get_size()) {
      arguments.push_back({DNNL_ARG_SCRATCHPAD, primitive.scratchpad_desc(), Source::scratch, 0, nullptr});
      scratch_bytes = scratchpad;
    }
    outputs[0].layout = make_layout(primitive.dst_desc(), DataType::float32, outputs[0].shape);
    runner_ = PrimitiveRunner(dnnl::lrn_forward(primitive), std::move(arguments));
    return {};
  }

  Status run(const RunContext& context) const override {
    runner_.execute(context);
    return {};
  }

 private:
  std::int64_t size_;
  float alpha_, beta_, bias_;
  PrimitiveRunner runner_;
};

}  // namespace

Result<std::unique_ptr<Kernel>> make_lrn(NodeContext& context) {
  auto x = context.required_input(0);
  if (!x) return std::unexpected(x.error());
  if ((*x)->dtype != DataType::float32) return context.unsupported_type((*x)->dtype);
  if ((*x)->shape.size() < 3 || (*x)->shape.size() > 5) return context.unsupported("input rank must be 3 to 5");
  for (auto d : (*x)->shape) {
    if (d == 0) return context.unsupported("empty inputs are not supported");
  }
  auto size = context.required_attribute_int("size");
  if (!size) return std::unexpected(size.error());
  if (*size <= 0) return context.invalid("size must be positive");
  auto alpha = context.attribute_float("alpha", 1e-4f);
  if (!alpha) return std::unexpected(alpha.error());
  auto beta = context.attribute_float("beta", 0.75f);
  if (!beta) return std::unexpected(beta.error());
  auto bias = context.attribute_float("bias", 1.0f);
  if (!bias) return std::unexpected(bias.error());
  auto kernel = std::make_unique<LrnKernel>(*size, *alpha, *beta, *bias);
  kernel->outputs.push_back(output(DataType::float32, (*x)->shape));
  return std::unique_ptr<Kernel>(std::move(kernel));
}

}  // namespace cloister::engine

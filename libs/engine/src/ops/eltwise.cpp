#include "ops/eltwise.h"

#include "dnnl_util.h"

namespace cloister::engine {

namespace {

dnnl::algorithm algorithm_of(EltwiseKind kind) {
  using a = dnnl::algorithm;
  switch (kind) {
    case EltwiseKind::relu: return a::eltwise_relu;
    case EltwiseKind::elu: return a::eltwise_elu;
    case EltwiseKind::tanh: return a::eltwise_tanh;
    case EltwiseKind::logistic: return a::eltwise_logistic;
    case EltwiseKind::exp: return a::eltwise_exp;
    case EltwiseKind::log: return a::eltwise_log;
    case EltwiseKind::sqrt: return a::eltwise_sqrt;
    case EltwiseKind::abs: return a::eltwise_abs;
    case EltwiseKind::clip: return a::eltwise_clip_v2;
    case EltwiseKind::hardswish: return a::eltwise_hardswish;
    case EltwiseKind::gelu_erf: return a::eltwise_gelu_erf;
    case EltwiseKind::gelu_tanh: return a::eltwise_gelu_tanh;
    case EltwiseKind::mish: return a::eltwise_mish;
    case EltwiseKind::soft_relu: return a::eltwise_soft_relu;
    case EltwiseKind::linear: return a::eltwise_linear;
  }
  return a::eltwise_relu;
}

class EltwiseKernel final : public Kernel {
 public:
  EltwiseKernel(EltwiseKind kind, float alpha, float beta, std::unique_ptr<Kernel> plain)
      : kind_(kind), alpha_(alpha), beta_(beta), plain_(std::move(plain)) {
    outputs = plain_->outputs;
  }

  Status prepare(const PrepareContext& context) override {
    const ValueInfo& x = *context.inputs[0];
    if (x.dtype != DataType::float32 || x.elements() == 0) {
      use_plain_ = true;
      return plain_->prepare(context);
    }
    const auto src = value_desc(x);
    auto descriptor = dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference, algorithm_of(kind_), src, alpha_, beta_);
    dnnl::primitive_attr attributes;
    attributes.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::eltwise_forward::primitive_desc primitive(descriptor, attributes, cpu_engine());
    implementation_ = implementation_name(primitive);
    using Source = PrimitiveRunner::Argument::Source;
    std::vector<PrimitiveRunner::Argument> arguments{{DNNL_ARG_SRC, src, Source::input, 0, nullptr},
                                                     {DNNL_ARG_DST, primitive.dst_desc(), Source::output, 0, nullptr}};
    if (std::size_t scratchpad = primitive.scratchpad_desc().get_size()) {
      arguments.push_back({DNNL_ARG_SCRATCHPAD, primitive.scratchpad_desc(), Source::scratch, 0, nullptr});
      scratch_bytes = scratchpad;
    }
    outputs[0].layout = make_layout(primitive.dst_desc(), DataType::float32, outputs[0].shape);
    runner_ = PrimitiveRunner(dnnl::eltwise_forward(primitive), std::move(arguments));
    return {};
  }

  Status run(const RunContext& context) const override {
    if (use_plain_) return plain_->run(context);
    runner_.execute(context);
    return {};
  }

  std::string describe() const override { return use_plain_ ? plain_->describe() : "Eltwise[" + implementation_ + "]"; }

 private:
  EltwiseKind kind_;
  float alpha_, beta_;
  std::unique_ptr<Kernel> plain_;
  bool use_plain_ = false;
  PrimitiveRunner runner_;
  std::string implementation_;
};

}  // namespace

Result<std::unique_ptr<Kernel>> make_eltwise(NodeContext&, EltwiseKind kind, float alpha, float beta,
                                             Result<std::unique_ptr<Kernel>> plain) {
  if (!plain) return plain;
  return std::unique_ptr<Kernel>(new EltwiseKernel(kind, alpha, beta, std::move(*plain)));
}

}  // namespace cloister::engine

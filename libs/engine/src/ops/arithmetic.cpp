#include "ops/arithmetic.h"

#include "dnnl_util.h"

namespace cloister::engine {

namespace {

class ArithmeticKernel final : public Kernel {
 public:
  ArithmeticKernel(ArithmeticKind kind, std::unique_ptr<Kernel> plain, Shape a, Shape b)
      : kind_(kind), plain_(std::move(plain)), a_(std::move(a)), b_(std::move(b)) {
    outputs = plain_->outputs;
  }

  Status prepare(const PrepareContext& context) override {
    const ValueInfo* x = context.inputs[0];
    const ValueInfo* y = context.inputs[1];
    mode_ = Mode::plain;
    if (!x->layout && !y->layout) return plain_->prepare(context);
    const Shape& out = outputs[0].shape;
    const bool commutative = kind_ == ArithmeticKind::add || kind_ == ArithmeticKind::mul;
    if (x->dtype == DataType::float32 && x->shape == out) {
      return prepare_dnnl(*x, *y, false);
    }
    if (x->dtype == DataType::float32 && commutative && y->shape == out) {
      return prepare_dnnl(*y, *x, true);
    }
    // Fallback: reorder blocked operands to plain scratch, then the plain kernel.
    mode_ = Mode::reordered;
    std::size_t offset = 0;
    for (std::size_t i = 0; i < 2; ++i) {
      const ValueInfo* input = context.inputs[i];
      if (!input->layout) continue;
      auto plain = plain_desc(input->dtype, input->shape);
      reorders_[i] = PrimitiveRunner(dnnl::reorder(dnnl::reorder::primitive_desc(cpu_engine(), input->layout->desc, cpu_engine(), plain)),
                                     {{DNNL_ARG_FROM, input->layout->desc, PrimitiveRunner::Argument::Source::input, i, nullptr},
                                      {DNNL_ARG_TO, plain, PrimitiveRunner::Argument::Source::scratch, offset, nullptr}});
      scratch_offsets_[i] = offset;
      offset += (plain.get_size() + 63) / 64 * 64;
    }
    PrepareContext plain_context = context;
    ValueInfo plain_inputs[2] = {*x, *y};
    for (auto& info : plain_inputs) info.layout = nullptr;
    plain_context.inputs = {&plain_inputs[0], &plain_inputs[1]};
    if (auto status = plain_->prepare(plain_context); !status) return status;
    plain_scratch_offset_ = offset;
    scratch_bytes = offset + plain_->scratch_bytes;
    return {};
  }

  Status run(const RunContext& context) const override {
    switch (mode_) {
      case Mode::plain: return plain_->run(context);
      case Mode::dnnl: runner_.execute(context); return {};
      case Mode::reordered: {
        const void* inputs[2] = {context.inputs[0], context.inputs[1]};
        for (std::size_t i = 0; i < 2; ++i) {
          if (!reorders_[i].valid()) continue;
          reorders_[i].execute(context, i + 1);
          inputs[i] = static_cast<std::byte*>(context.scratch) + scratch_offsets_[i];
        }
        RunContext plain = context;
        plain.inputs = inputs;
        plain.scratch = static_cast<std::byte*>(context.scratch) + plain_scratch_offset_;
        return plain_->run(plain);
      }
    }
    return {};
  }

  std::string describe() const override { return mode_ == Mode::dnnl ? "Binary[" + implementation_ + "]" : plain_->describe(); }

 private:
  enum class Mode { plain, dnnl, reordered };

  Status prepare_dnnl(const ValueInfo& big, const ValueInfo& small, bool swapped) {
    mode_ = Mode::dnnl;
    const auto src0 = value_desc(big);
    dnnl::memory::desc src1;
    if (small.layout) {
      src1 = small.layout->desc;
    } else {
      Shape padded = small.shape;
      padded.insert(padded.begin(), big.shape.size() - padded.size(), 1);
      src1 = plain_desc(DataType::float32, padded);
    }
    dnnl::algorithm algorithm = kind_ == ArithmeticKind::add   ? dnnl::algorithm::binary_add
                                : kind_ == ArithmeticKind::sub ? dnnl::algorithm::binary_sub
                                : kind_ == ArithmeticKind::mul ? dnnl::algorithm::binary_mul
                                                               : dnnl::algorithm::binary_div;
    auto descriptor = dnnl::binary::desc(algorithm, src0, src1, src0);
    dnnl::primitive_attr attributes;
    attributes.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::binary::primitive_desc primitive(descriptor, attributes, cpu_engine());
    implementation_ = implementation_name(primitive);
    using Source = PrimitiveRunner::Argument::Source;
    std::vector<PrimitiveRunner::Argument> arguments{{DNNL_ARG_SRC_0, src0, Source::input, swapped ? 1u : 0u, nullptr},
                                                     {DNNL_ARG_SRC_1, src1, Source::input, swapped ? 0u : 1u, nullptr},
                                                     {DNNL_ARG_DST, primitive.dst_desc(), Source::output, 0, nullptr}};
    if (std::size_t scratchpad = primitive.scratchpad_desc().get_size()) {
      arguments.push_back({DNNL_ARG_SCRATCHPAD, primitive.scratchpad_desc(), Source::scratch, 0, nullptr});
      scratch_bytes = scratchpad;
    }
    outputs[0].layout = make_layout(primitive.dst_desc(), DataType::float32, outputs[0].shape);
    runner_ = PrimitiveRunner(dnnl::binary(primitive), std::move(arguments));
    return {};
  }

  ArithmeticKind kind_;
  std::unique_ptr<Kernel> plain_;
  Shape a_, b_;
  Mode mode_ = Mode::plain;
  PrimitiveRunner runner_;
  PrimitiveRunner reorders_[2];
  std::size_t scratch_offsets_[2] = {0, 0};
  std::size_t plain_scratch_offset_ = 0;
  std::string implementation_;
};

}  // namespace

Result<std::unique_ptr<Kernel>> make_arithmetic(NodeContext& context, ArithmeticKind kind, Result<std::unique_ptr<Kernel>> plain) {
  if (!plain) return plain;
  const ValueInfo* a = context.input(0);
  const ValueInfo* b = context.input(1);
  auto kernel = std::make_unique<ArithmeticKernel>(kind, std::move(*plain), a->shape, b->shape);
  return std::unique_ptr<Kernel>(std::move(kernel));
}

}  // namespace cloister::engine

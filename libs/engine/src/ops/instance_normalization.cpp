// InstanceNormalization: per (sample, channel) y = scale * (x - mean) / sqrt(var + epsilon) + B.
// Batch 1 (the usual inference case) runs as oneDNN batch normalization computing its own
// statistics, which for one sample is exactly instance normalization, in any layout; larger
// batches use a plain C++ kernel (blocked inputs are reordered to plain scratch first).
#include "dnnl_util.h"
#include "ops/common.h"
#include "ops/operators.h"

#include <cmath>

namespace cloister::engine {

namespace {

class InstanceNormKernel final : public Kernel {
 public:
  explicit InstanceNormKernel(float epsilon) : epsilon_(epsilon) {}

  Status prepare(const PrepareContext& context) override {
    const ValueInfo& x = *context.inputs[0];
    const Shape& shape = x.shape;
    channels_ = shape[1];
    planes_ = shape[0] * shape[1];
    size_ = product(shape, 2, shape.size());
    using Source = PrimitiveRunner::Argument::Source;
    if (shape[0] == 1 && size_ > 0 && shape.size() <= 5) {
      const auto src = value_desc(x);
      auto flags = dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
      auto descriptor = dnnl::batch_normalization_forward::desc(dnnl::prop_kind::forward_training, src, epsilon_, flags);
      dnnl::primitive_attr attributes;
      attributes.set_scratchpad_mode(dnnl::scratchpad_mode::user);
      dnnl::batch_normalization_forward::primitive_desc primitive(descriptor, attributes, cpu_engine());
      implementation_ = implementation_name(primitive);
      const dnnl::memory::desc vector({channels_}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::x);
      const std::size_t statistics = (vector.get_size() + 63) / 64 * 64;
      std::vector<PrimitiveRunner::Argument> arguments{{DNNL_ARG_SRC, src, Source::input, 0, nullptr},
                                                       {DNNL_ARG_SCALE, vector, Source::input, 1, nullptr},
                                                       {DNNL_ARG_SHIFT, vector, Source::input, 2, nullptr},
                                                       {DNNL_ARG_MEAN, vector, Source::scratch, 0, nullptr},
                                                       {DNNL_ARG_VARIANCE, vector, Source::scratch, statistics, nullptr},
                                                       {DNNL_ARG_DST, primitive.dst_desc(), Source::output, 0, nullptr}};
      scratch_bytes = 2 * statistics;
      if (std::size_t scratchpad = primitive.scratchpad_desc().get_size()) {
        arguments.push_back({DNNL_ARG_SCRATCHPAD, primitive.scratchpad_desc(), Source::scratch, scratch_bytes, nullptr});
        scratch_bytes += scratchpad;
      }
      outputs[0].layout = make_layout(primitive.dst_desc(), DataType::float32, shape);
      runner_ = PrimitiveRunner(dnnl::batch_normalization_forward(primitive), std::move(arguments));
      return {};
    }
    if (x.layout) {
      auto plain = plain_desc(DataType::float32, shape);
      reorder_ = PrimitiveRunner(dnnl::reorder(dnnl::reorder::primitive_desc(cpu_engine(), x.layout->desc, cpu_engine(), plain)),
                                 {{DNNL_ARG_FROM, x.layout->desc, Source::input, 0, nullptr},
                                  {DNNL_ARG_TO, plain, Source::scratch, 0, nullptr}});
      scratch_bytes = plain.get_size();
    }
    return {};
  }

  Status run(const RunContext& context) const override {
    if (runner_.valid()) {
      runner_.execute(context);
      return {};
    }
    const float* in = context.in<float>(0);
    if (reorder_.valid()) {
      reorder_.execute(context, 1);
      in = static_cast<const float*>(context.scratch);
    }
    const float* scale = context.in<float>(1);
    const float* bias = context.in<float>(2);
    float* out = context.out<float>(0);
    const double epsilon = epsilon_;
    const std::int64_t size = size_, channels = channels_;
    parallel_for(planes_, size_, [&](std::int64_t p) {
      const float* src = in + p * size;
      float* dst = out + p * size;
      double sum = 0, squares = 0;
      for (std::int64_t i = 0; i < size; ++i) sum += src[i];
      const double mean = size ? sum / static_cast<double>(size) : 0;
      for (std::int64_t i = 0; i < size; ++i) squares += (src[i] - mean) * (src[i] - mean);
      const double variance = size ? squares / static_cast<double>(size) : 0;
      const std::int64_t c = p % channels;
      const auto a = static_cast<float>(scale[c] / std::sqrt(variance + epsilon));
      const auto b = static_cast<float>(bias[c] - mean * a);
      for (std::int64_t i = 0; i < size; ++i) dst[i] = src[i] * a + b;
    });
    return {};
  }

  std::string describe() const override { return runner_.valid() ? "InstanceNormalization[" + implementation_ + "]" : "InstanceNormalization"; }

 private:
  float epsilon_;
  std::int64_t channels_ = 0, planes_ = 0, size_ = 0;
  PrimitiveRunner runner_, reorder_;
  std::string implementation_;
};

}  // namespace

Result<std::unique_ptr<Kernel>> make_instance_normalization(NodeContext& context) {
  auto x = context.required_input(0);
  if (!x) return std::unexpected(x.error());
  if ((*x)->dtype != DataType::float32) return context.unsupported_type((*x)->dtype);
  const Shape& shape = (*x)->shape;
  if (shape.size() < 3) return context.invalid("input rank must be 3 or more");
  for (std::size_t i = 1; i < 3; ++i) {
    auto input = context.required_input(i);
    if (!input) return std::unexpected(input.error());
    if ((*input)->dtype != DataType::float32) return context.unsupported_type((*input)->dtype);
    if ((*input)->shape != Shape{shape[1]}) return context.invalid("scale and B must have shape [C]");
  }
  auto epsilon = context.attribute_float("epsilon", 1e-5f);
  if (!epsilon) return std::unexpected(epsilon.error());
  auto kernel = std::make_unique<InstanceNormKernel>(*epsilon);
  kernel->outputs.push_back(output(DataType::float32, shape));
  return std::unique_ptr<Kernel>(std::move(kernel));
}

}  // namespace cloister::engine

#include "ops/softmax_common.h"

#include "dnnl_util.h"

#include <cmath>
#include <limits>

namespace cloister::engine {

Result<SoftmaxGeometry> softmax_geometry(const NodeContext& context, const Shape& shape) {
  const auto rank = static_cast<std::int64_t>(shape.size());
  const bool coerce = context.opset() < 13;
  auto axis_attribute = context.attribute_int("axis", coerce ? 1 : -1);
  if (!axis_attribute) return std::unexpected(axis_attribute.error());
  std::int64_t axis = *axis_attribute;
  if (rank == 0) return context.invalid("input must have rank 1 or more");
  if (axis < -rank || axis > (coerce ? rank : rank - 1)) return context.invalid("axis " + std::to_string(axis) + " is out of range");
  if (axis < 0) axis += rank;
  const auto a = static_cast<std::size_t>(axis);
  SoftmaxGeometry geometry;
  geometry.outer = product(shape, 0, a);
  if (coerce) {
    geometry.axis = product(shape, a, shape.size());
    geometry.inner = 1;
  } else {
    geometry.axis = shape[a];
    geometry.inner = product(shape, a + 1, shape.size());
  }
  return geometry;
}

namespace {

class SoftmaxKernel final : public Kernel {
 public:
  SoftmaxKernel(SoftmaxGeometry geometry, bool log) : geometry_(geometry), log_(log) {}

  Status prepare(const PrepareContext&) override {
    if (shape_element_count(outputs[0].shape) == 0) return {};
    Shape view{geometry_.outer, geometry_.axis, geometry_.inner};
    auto desc = plain_desc(DataType::float32, view);
    auto descriptor = dnnl::softmax_v2_forward::desc(dnnl::prop_kind::forward_inference,
                                                     log_ ? dnnl::algorithm::softmax_log : dnnl::algorithm::softmax_accurate,
                                                     desc, desc, 1);
    dnnl::primitive_attr attributes;
    attributes.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::softmax_v2_forward::primitive_desc primitive(descriptor, attributes, cpu_engine());
    using Source = PrimitiveRunner::Argument::Source;
    std::vector<PrimitiveRunner::Argument> arguments{{DNNL_ARG_SRC, desc, Source::input, 0, nullptr},
                                                     {DNNL_ARG_DST, desc, Source::output, 0, nullptr}};
    if (std::size_t scratchpad = primitive.scratchpad_desc().get_size()) {
      arguments.push_back({DNNL_ARG_SCRATCHPAD, primitive.scratchpad_desc(), Source::scratch, 0, nullptr});
      scratch_bytes = scratchpad;
    }
    runner_ = PrimitiveRunner(dnnl::softmax_v2_forward(primitive), std::move(arguments));
    return {};
  }

  Status run(const RunContext& context) const override {
    if (runner_.valid()) runner_.execute(context);
    return {};
  }

 private:
  SoftmaxGeometry geometry_;
  bool log_;
  PrimitiveRunner runner_;
};

template <class T>
void softmax_plain(const T* x, T* y, const SoftmaxGeometry& g, bool log) {
  for (std::int64_t o = 0; o < g.outer; ++o) {
    for (std::int64_t i = 0; i < g.inner; ++i) {
      const T* in = x + o * g.axis * g.inner + i;
      T* out = y + o * g.axis * g.inner + i;
      T max = -std::numeric_limits<T>::infinity();
      for (std::int64_t k = 0; k < g.axis; ++k) max = std::max(max, in[k * g.inner]);
      T sum = 0;
      for (std::int64_t k = 0; k < g.axis; ++k) sum += std::exp(in[k * g.inner] - max);
      for (std::int64_t k = 0; k < g.axis; ++k) {
        out[k * g.inner] = log ? in[k * g.inner] - max - std::log(sum) : std::exp(in[k * g.inner] - max) / sum;
      }
    }
  }
}

}  // namespace

Result<std::unique_ptr<Kernel>> make_softmax_kernel(NodeContext& context, bool log) {
  auto x = context.required_input(0);
  if (!x) return std::unexpected(x.error());
  auto geometry = softmax_geometry(context, (*x)->shape);
  if (!geometry) return std::unexpected(geometry.error());
  if ((*x)->dtype == DataType::float64) {
    return make_kernel({output(DataType::float64, (*x)->shape)}, [g = *geometry, log](const RunContext& run) -> Status {
      softmax_plain(run.in<double>(0), run.out<double>(0), g, log);
      return {};
    });
  }
  if ((*x)->dtype != DataType::float32) return context.unsupported_type((*x)->dtype);
  auto kernel = std::make_unique<SoftmaxKernel>(*geometry, log);
  kernel->outputs.push_back(output(DataType::float32, (*x)->shape));
  return std::unique_ptr<Kernel>(std::move(kernel));
}

}  // namespace cloister::engine

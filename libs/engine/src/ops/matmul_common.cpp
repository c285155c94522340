#include "ops/matmul_common.h"

namespace cloister::engine {

Status MatmulKernel::prepare(const PrepareContext& context) {
  if (shape_element_count(outputs[0].shape) == 0) return {};
  const bool constant_weights = static_cast<bool>(context.inputs[1]->constant);
  auto weights_any = constant_weights ? dnnl::memory::desc(spec_.weights.dims(), dnnl::memory::data_type::f32, dnnl::memory::format_tag::any)
                                      : spec_.weights;
  std::vector<PrimitiveRunner::Argument> arguments;
  dnnl::post_ops operations;
  if (spec_.scale != 1.0f) operations.append_eltwise(1.0f, dnnl::algorithm::eltwise_linear, spec_.scale, 0.0f);
  append_post_ops(spec_.post_ops, context, operations, arguments);
  dnnl::primitive_attr attributes;
  attributes.set_post_ops(operations);
  attributes.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  auto descriptor = dnnl::matmul::desc(spec_.src, weights_any, spec_.bias, spec_.dst);
  dnnl::matmul::primitive_desc primitive(descriptor, attributes, cpu_engine());
  implementation_ = implementation_name(primitive);
  using Source = PrimitiveRunner::Argument::Source;
  arguments.push_back({DNNL_ARG_SRC, spec_.src, Source::input, 0, nullptr});
  std::size_t offset = 0;
  if (constant_weights) {
    weights_ = reorder_constant(*context.inputs[1]->constant, spec_.weights, primitive.weights_desc());
    capture_input(1);
    arguments.push_back({DNNL_ARG_WEIGHTS, primitive.weights_desc(), Source::constant, 0, weights_.data.get()});
  } else {
    arguments.push_back({DNNL_ARG_WEIGHTS, spec_.weights, Source::input, 1, nullptr});
  }
  if (spec_.constant_bias) {
    arguments.push_back({DNNL_ARG_BIAS, spec_.bias, Source::constant, 0, spec_.constant_bias});
  }
  arguments.push_back({DNNL_ARG_DST, spec_.dst, Source::output, 0, nullptr});
  if (std::size_t scratchpad = primitive.scratchpad_desc().get_size()) {
    arguments.push_back({DNNL_ARG_SCRATCHPAD, primitive.scratchpad_desc(), Source::scratch, offset, nullptr});
    offset += scratchpad;
  }
  scratch_bytes = offset;
  runner_ = PrimitiveRunner(dnnl::matmul(primitive), std::move(arguments));
  return {};
}

Status MatmulKernel::run(const RunContext& context) const {
  if (runner_.valid()) runner_.execute(context);
  if (epilogue) epilogue(context);
  return {};
}

}  // namespace cloister::engine

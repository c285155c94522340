#include "ops/pooling.h"

#include "dnnl_util.h"

namespace cloister::engine {

namespace {

class PoolKernel final : public Kernel {
 public:
  PoolKernel(PoolKind kind, SpatialGeometry geometry, DataType type) : kind_(kind), geometry_(std::move(geometry)), type_(type) {}

  Status prepare(const PrepareContext& context) override {
    const dnnl::memory::desc src = value_desc(*context.inputs[0]);
    const auto data_type = *dnnl_type(type_);
    dnnl::memory::desc dst = context.blocked_layouts || context.inputs[0]->layout
                                 ? dnnl::memory::desc(dnnl_dims(outputs[0].shape), data_type, dnnl::memory::format_tag::any)
                                 : plain_desc(type_, outputs[0].shape);
    dnnl::algorithm algorithm = kind_ == PoolKind::max                       ? dnnl::algorithm::pooling_max
                                : kind_ == PoolKind::average_include_padding ? dnnl::algorithm::pooling_avg_include_padding
                                                                             : dnnl::algorithm::pooling_avg_exclude_padding;
    auto descriptor = dnnl::pooling_v2_forward::desc(dnnl::prop_kind::forward_inference, algorithm, src, dst, geometry_.strides,
                                                     geometry_.kernel, dnnl_dilations(geometry_), geometry_.pad_begin,
                                                     geometry_.dnnl_pad_end);
    dnnl::primitive_attr attributes;
    attributes.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::pooling_v2_forward::primitive_desc primitive(descriptor, attributes, cpu_engine());
    implementation_ = implementation_name(primitive);
    std::vector<PrimitiveRunner::Argument> arguments{
        {DNNL_ARG_SRC, src, PrimitiveRunner::Argument::Source::input, 0, nullptr},
        {DNNL_ARG_DST, primitive.dst_desc(), PrimitiveRunner::Argument::Source::output, 0, nullptr}};
    if (std::size_t scratchpad = primitive.scratchpad_desc().get_size()) {
      arguments.push_back({DNNL_ARG_SCRATCHPAD, primitive.scratchpad_desc(), PrimitiveRunner::Argument::Source::scratch, 0, nullptr});
      scratch_bytes = scratchpad;
    }
    outputs[0].layout = make_layout(primitive.dst_desc(), type_, outputs[0].shape);
    runner_ = PrimitiveRunner(dnnl::pooling_v2_forward(primitive), std::move(arguments));
    return {};
  }

  Status run(const RunContext& context) const override {
    runner_.execute(context);
    return {};
  }

  std::string describe() const override { return std::string(kind_ == PoolKind::max ? "MaxPool[" : "AveragePool[") + implementation_ + "]"; }

 private:
  PoolKind kind_;
  SpatialGeometry geometry_;
  DataType type_;
  PrimitiveRunner runner_;
  std::string implementation_;
};

}  // namespace

Result<std::unique_ptr<Kernel>> make_pool_kernel(const NodeContext& context, const ValueInfo& x, PoolKind kind, SpatialGeometry geometry) {
  if (x.dtype != DataType::float32 && !(kind == PoolKind::max && (x.dtype == DataType::int8 || x.dtype == DataType::uint8))) {
    return context.unsupported_type(x.dtype);
  }
  if (x.shape.size() < 3 || x.shape.size() > 5) return context.unsupported("only 1D, 2D and 3D pooling is supported (input rank 3 to 5)");
  for (auto d : x.shape) {
    if (d == 0) return context.unsupported("empty inputs are not supported");
  }
  Shape output_shape{x.shape[0], x.shape[1]};
  output_shape.insert(output_shape.end(), geometry.output.begin(), geometry.output.end());
  auto kernel = std::make_unique<PoolKernel>(kind, std::move(geometry), x.dtype);
  kernel->outputs.push_back(output(x.dtype, output_shape));
  return std::unique_ptr<Kernel>(std::move(kernel));
}

Result<SpatialGeometry> global_geometry(const Shape& shape) {
  SpatialGeometry geometry;
  for (std::size_t i = 2; i < shape.size(); ++i) {
    geometry.kernel.push_back(shape[i]);
    geometry.strides.push_back(1);
    geometry.dilations.push_back(1);
    geometry.pad_begin.push_back(0);
    geometry.pad_end.push_back(0);
    geometry.dnnl_pad_end.push_back(0);
    geometry.output.push_back(1);
  }
  return geometry;
}

Result<SpatialGeometry> pool_geometry(const NodeContext& context, const ValueInfo& x, bool allow_dilations) {
  if (x.shape.size() < 3) return context.invalid("input rank must be 3 or more");
  auto kernel_shape = context.attribute_ints("kernel_shape");
  if (!kernel_shape) return std::unexpected(kernel_shape.error());
  if (kernel_shape->empty()) return context.invalid("kernel_shape is required");
  auto ceil_mode = context.attribute_int("ceil_mode", 0);
  if (!ceil_mode) return std::unexpected(ceil_mode.error());
  return resolve_spatial(context, std::span(x.shape).subspan(2), *kernel_shape, *ceil_mode != 0, allow_dilations);
}

}  // namespace cloister::engine

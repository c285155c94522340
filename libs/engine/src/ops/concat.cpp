// Concat: joins the inputs along an axis.
#include "dnnl_util.h"
#include "ops/common.h"
#include "ops/operators.h"

namespace cloister::engine {

namespace {

// Plain inputs: memcpy of each input's rows. Inputs in oneDNN layouts: oneDNN concat, whose
// output layout follows theirs.
class ConcatKernel final : public Kernel {
 public:
  ConcatKernel(std::vector<std::int64_t> chunk, std::int64_t outer, std::int64_t total, int axis)
      : chunk_(std::move(chunk)), outer_(outer), total_(total), axis_(axis) {}

  Status prepare(const PrepareContext& context) override {
    bool blocked = false;
    for (const auto* input : context.inputs) blocked |= input && input->layout;
    if (!blocked) return {};
    if (prepare_channels_last(context)) return {};
    std::vector<dnnl::memory::desc> sources;
    using Source = PrimitiveRunner::Argument::Source;
    std::vector<PrimitiveRunner::Argument> arguments;
    for (std::size_t i = 0; i < context.inputs.size(); ++i) {
      if (context.inputs[i]->shape[static_cast<std::size_t>(axis_)] == 0) continue;
      auto desc = value_desc(*context.inputs[i]);
      arguments.push_back({DNNL_ARG_MULTIPLE_SRC + static_cast<int>(sources.size()), desc, Source::input, i, nullptr});
      sources.push_back(desc);
    }
    dnnl::primitive_attr attributes;
    attributes.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    // Keep the inputs' (first blocked input's) format for the output, so that the layers after
    // the concat see their preferred layout; oneDNN's own choice here tends to be plain.
    std::optional<dnnl::memory::desc> destination;
    for (const auto* input : context.inputs) {
      if (input->layout && !destination) destination = same_format(input->layout->desc, outputs[0].shape, outputs[0].dtype);
    }
    dnnl::concat::primitive_desc primitive = destination ? dnnl::concat::primitive_desc(*destination, axis_, sources, cpu_engine(), attributes)
                                                         : dnnl::concat::primitive_desc(axis_, sources, cpu_engine(), attributes);
    arguments.push_back({DNNL_ARG_DST, primitive.dst_desc(), Source::output, 0, nullptr});
    if (std::size_t scratchpad = primitive.scratchpad_desc().get_size()) {
      arguments.push_back({DNNL_ARG_SCRATCHPAD, primitive.scratchpad_desc(), Source::scratch, 0, nullptr});
      scratch_bytes = scratchpad;
    }
    outputs[0].layout = make_layout(primitive.dst_desc(), outputs[0].dtype, outputs[0].shape);
    runner_ = PrimitiveRunner(dnnl::concat(primitive), std::move(arguments));
    return {};
  }

  Status run(const RunContext& run) const override {
    if (runner_.valid()) {
      runner_.execute(run);
      return {};
    }
    auto* out = static_cast<std::byte*>(run.outputs[0]);
    parallel_for(outer_, total_ / 4 + 1, [&](std::int64_t o) {
      std::int64_t offset = o * total_;
      for (std::size_t i = 0; i < chunk_.size(); ++i) {
        if (chunk_[i]) std::memcpy(out + offset, static_cast<const std::byte*>(run.inputs[i]) + o * chunk_[i], static_cast<std::size_t>(chunk_[i]));
        offset += chunk_[i];
      }
    });
    return {};
  }

  std::string describe() const override {
    return runner_.valid() ? "Concat[onednn]" : channels_last_ ? "Concat[channels-last]" : "Concat";
  }

 private:
  // Channel concat of inputs that are all channels-last (nwc / nhwc / ndhwc): in memory the
  // channels are innermost, so it is the row-major concat of [voxels, C_i] pieces — plain copies,
  // several times faster than oneDNN's concat for the small channel counts of U-Nets.
  bool prepare_channels_last(const PrepareContext& context) {
    if (axis_ != 1) return false;
    const Shape& out = outputs[0].shape;
    auto last = [&](const Shape& shape) {
      using tag = dnnl::memory::format_tag;
      const tag t = shape.size() == 3 ? tag::nwc : shape.size() == 4 ? tag::nhwc : tag::ndhwc;
      return shape.size() >= 3 && shape.size() <= 5 ? std::optional(dnnl::memory::desc(dnnl_dims(shape), dnnl::memory::data_type::f32, t))
                                                    : std::nullopt;
    };
    if (outputs[0].dtype != DataType::float32) return false;
    const std::size_t size = data_type_size(outputs[0].dtype);
    std::vector<std::int64_t> chunk;
    std::int64_t total = 0;
    for (const auto* input : context.inputs) {
      auto expected = last(input->shape);
      if (!expected || value_desc(*input) != *expected) return false;
      chunk.push_back(input->shape[1] * static_cast<std::int64_t>(size));
      total += chunk.back();
    }
    auto destination = last(out);
    if (!destination) return false;
    chunk_ = std::move(chunk);
    total_ = total;
    outer_ = shape_element_count(out) / out[1];
    channels_last_ = true;
    outputs[0].layout = make_layout(*destination, outputs[0].dtype, out);
    return true;
  }

 public:

 private:
  std::vector<std::int64_t> chunk_;
  std::int64_t outer_, total_;
  int axis_;
  bool channels_last_ = false;
  PrimitiveRunner runner_;
};

}  // namespace

Result<std::unique_ptr<Kernel>> make_concat(NodeContext& context) {
  if (context.input_count() == 0) return context.invalid("at least one input is required");
  auto first = context.required_input(0);
  if (!first) return std::unexpected(first.error());
  const DataType type = (*first)->dtype;
  const std::size_t rank = (*first)->shape.size();
  auto axis_attribute = context.required_attribute_int("axis");
  if (!axis_attribute) return std::unexpected(axis_attribute.error());
  auto axis = context.axis(*axis_attribute, rank);
  if (!axis) return std::unexpected(axis.error());
  const auto a = static_cast<std::size_t>(*axis);
  Shape shape = (*first)->shape;
  shape[a] = 0;
  std::vector<std::int64_t> chunk;  // bytes per outer index, per input
  const std::size_t size = data_type_size(type);
  for (std::size_t i = 0; i < context.input_count(); ++i) {
    auto input = context.required_input(i);
    if (!input) return std::unexpected(input.error());
    const Shape& s = (*input)->shape;
    if ((*input)->dtype != type) return context.invalid("input types differ");
    if (s.size() != rank) return context.invalid("input ranks differ");
    for (std::size_t d = 0; d < rank; ++d) {
      if (d != a && s[d] != shape[d]) {
        return context.invalid("input " + std::to_string(i) + " has shape " + shape_to_string(s) + ", incompatible with " +
                               shape_to_string((*first)->shape) + " on axis " + std::to_string(d));
      }
    }
    shape[a] += s[a];
    chunk.push_back(product(s, a, rank) * static_cast<std::int64_t>(size));
  }
  const std::int64_t outer = product(shape, 0, a);
  std::int64_t total = 0;
  for (auto c : chunk) total += c;
  auto kernel = std::make_unique<ConcatKernel>(std::move(chunk), outer, total, static_cast<int>(a));
  kernel->outputs.push_back(output(type, shape));
  return std::unique_ptr<Kernel>(std::move(kernel));
}

}  // namespace cloister::engine

#include "dnnl_util.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <unordered_map>

namespace cloister::engine {

const dnnl::engine& cpu_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

std::optional<dnnl::memory::data_type> dnnl_type(DataType type) {
  using dt = dnnl::memory::data_type;
  switch (type) {
    case DataType::float32: return dt::f32;
    case DataType::float16: return dt::f16;
    case DataType::bfloat16: return dt::bf16;
    case DataType::int8: return dt::s8;
    case DataType::uint8: return dt::u8;
    case DataType::int32: return dt::s32;
    default: return std::nullopt;
  }
}

dnnl::memory::dims dnnl_dims(const Shape& shape) {
  if (shape.empty()) return {1};
  return dnnl::memory::dims(shape.begin(), shape.end());
}

dnnl::memory::desc plain_desc(DataType type, const Shape& shape) {
  auto dims = dnnl_dims(shape);
  dnnl::memory::dims strides(dims.size());
  dnnl::memory::dim stride = 1;
  for (std::size_t i = dims.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= std::max<dnnl::memory::dim>(dims[i], 1);
  }
  return dnnl::memory::desc(dims, dnnl_type(type).value_or(dnnl::memory::data_type::f32), strides);
}

dnnl::memory::desc value_desc(const ValueInfo& value) {
  if (value.layout) return value.layout->desc;
  return plain_desc(value.dtype, value.shape);
}

bool is_plain(const dnnl::memory::desc& desc, DataType type, const Shape& shape) {
  return desc == plain_desc(type, shape);
}

std::shared_ptr<const Layout> make_layout(const dnnl::memory::desc& desc, DataType type, const Shape& shape) {
  if (is_plain(desc, type, shape)) return nullptr;
  return std::make_shared<const Layout>(Layout{desc});
}

std::optional<dnnl::memory::desc> same_format(const dnnl::memory::desc& like, const Shape& shape, DataType type) {
  using tag = dnnl::memory::format_tag;
  auto data_type = dnnl_type(type);
  if (!data_type) return std::nullopt;
  const auto like_dims = like.dims();
  if (like_dims.size() != shape.size()) return std::nullopt;
  static const tag candidates[] = {tag::ncw,      tag::nwc,      tag::nCw8c,    tag::nCw16c,    tag::nchw,     tag::nhwc,
                                   tag::nChw8c,   tag::nChw16c,  tag::ncdhw,    tag::ndhwc,     tag::nCdhw8c,  tag::nCdhw16c,
                                   tag::ab,       tag::ba};
  for (tag candidate : candidates) {
    try {
      dnnl::memory::desc probe(like_dims, like.data_type(), candidate);
      if (probe == like) return dnnl::memory::desc(dnnl_dims(shape), *data_type, candidate);
    } catch (const dnnl::error&) {
      // the tag does not fit this rank
    }
  }
  return std::nullopt;
}

std::string implementation_name(const dnnl::primitive_desc_base& descriptor) {
  const char* name = nullptr;
  if (dnnl_primitive_desc_query(descriptor.get(), dnnl_query_impl_info_str, 0, &name) == dnnl_success && name) {
    return name;
  }
  return "?";
}

std::size_t ValueInfo::storage_bytes() const {
  if (layout) return layout->desc.get_size();
  auto count = elements();
  return count < 0 ? 0 : static_cast<std::size_t>(count) * data_type_size(dtype);
}

namespace {

struct PrimitiveState final : KernelState {
  std::vector<std::vector<dnnl::memory>> memories;  // per runner slot
  std::vector<std::unordered_map<int, dnnl::memory>> arguments;
};

}  // namespace

dnnl::stream& stream_of(const RunContext& context) {
  if (context.state != nullptr) return context.state->stream;
  thread_local dnnl::stream folding_stream(cpu_engine());
  return folding_stream;
}

void PrimitiveRunner::execute(const RunContext& context, std::size_t slot) const {
  auto& holder = *context.kernel_state;
  if (!holder) holder = std::make_unique<PrimitiveState>();
  auto& state = static_cast<PrimitiveState&>(*holder);
  if (state.memories.size() <= slot) {
    state.memories.resize(slot + 1);
    state.arguments.resize(slot + 1);
  }
  auto& memories = state.memories[slot];
  auto& arguments = state.arguments[slot];
  bool create = memories.empty();
  for (std::size_t i = 0; i < arguments_.size(); ++i) {
    const auto& argument = arguments_[i];
    void* pointer = nullptr;
    switch (argument.source) {
      case Argument::Source::input: pointer = const_cast<void*>(context.inputs[argument.index]); break;
      case Argument::Source::output: pointer = context.outputs[argument.index]; break;
      case Argument::Source::scratch: pointer = static_cast<std::byte*>(context.scratch) + argument.index; break;
      case Argument::Source::constant: pointer = const_cast<void*>(argument.constant); break;
    }
    if (create) {
      memories.emplace_back(argument.desc, cpu_engine(), pointer);
      arguments.emplace(argument.dnnl_arg, memories.back());
    } else if (memories[i].get_data_handle() != pointer) {
      memories[i].set_data_handle(pointer);
    }
  }
  primitive_.execute(stream_of(context), arguments);
  stream_of(context).wait();
}

void append_post_ops(std::span<const PostOp> post_ops, const PrepareContext&, dnnl::post_ops& operations,
                     std::vector<PrimitiveRunner::Argument>&) {
  using algorithm = dnnl::algorithm;
  for (const auto& post_op : post_ops) {
    switch (post_op.kind) {
      case PostOp::Kind::relu: operations.append_eltwise(1.0f, algorithm::eltwise_relu, 0.0f, 0.0f); break;
      case PostOp::Kind::leaky_relu: operations.append_eltwise(1.0f, algorithm::eltwise_relu, post_op.alpha, 0.0f); break;
      case PostOp::Kind::clip: operations.append_eltwise(1.0f, algorithm::eltwise_clip, post_op.alpha, post_op.beta); break;
      case PostOp::Kind::sigmoid: operations.append_eltwise(1.0f, algorithm::eltwise_logistic, 0.0f, 0.0f); break;
      case PostOp::Kind::tanh: operations.append_eltwise(1.0f, algorithm::eltwise_tanh, 0.0f, 0.0f); break;
      case PostOp::Kind::hard_sigmoid:
        operations.append_eltwise(1.0f, algorithm::eltwise_linear, post_op.alpha, post_op.beta);
        operations.append_eltwise(1.0f, algorithm::eltwise_clip, 0.0f, 1.0f);
        break;
      case PostOp::Kind::hard_swish: operations.append_eltwise(1.0f, algorithm::eltwise_hardswish, 0.0f, 0.0f); break;
      case PostOp::Kind::elu: operations.append_eltwise(1.0f, algorithm::eltwise_elu, post_op.alpha, 0.0f); break;
      case PostOp::Kind::gelu_erf: operations.append_eltwise(1.0f, algorithm::eltwise_gelu_erf, 0.0f, 0.0f); break;
      case PostOp::Kind::swish: operations.append_eltwise(1.0f, algorithm::eltwise_swish, 1.0f, 0.0f); break;
      case PostOp::Kind::sum:
        // dst += the residual: the kernel puts the residual into dst first (see ResidualPrefill).
        operations.append_sum(1.0f);
        break;
    }
  }
}

OwnedBuffer reorder_constant(const Tensor& tensor, const dnnl::memory::desc& source, const dnnl::memory::desc& target) {
  OwnedBuffer buffer;
  buffer.bytes = target.get_size();
  std::size_t rounded = (buffer.bytes + 63) / 64 * 64 + 64;
  void* memory = std::aligned_alloc(64, rounded);
  if (memory == nullptr) throw std::bad_alloc();
  std::memset(memory, 0, rounded);
  buffer.data = std::shared_ptr<std::byte>(static_cast<std::byte*>(memory), [](std::byte* p) { std::free(p); });
  dnnl::memory from(source, cpu_engine(), const_cast<std::byte*>(tensor.bytes()));
  dnnl::memory to(target, cpu_engine(), buffer.data.get());
  dnnl::stream stream(cpu_engine());
  dnnl::reorder(from, to).execute(stream, from, to);
  stream.wait();
  return buffer;
}

Status ResidualPrefill::prepare(std::span<const PostOp> post_ops, const PrepareContext& context, const dnnl::memory::desc& dst) {
  input_ = -1;
  for (const auto& post_op : post_ops) {
    if (post_op.kind == PostOp::Kind::sum) input_ = post_op.input;
  }
  if (input_ < 0) return {};
  const auto source = value_desc(*context.inputs.at(static_cast<std::size_t>(input_)));
  bytes_ = dst.get_size();
  same_layout_ = source == dst;
  if (!same_layout_) {
    reorder_ = PrimitiveRunner(dnnl::reorder(dnnl::reorder::primitive_desc(cpu_engine(), source, cpu_engine(), dst)),
                               {{DNNL_ARG_FROM, source, PrimitiveRunner::Argument::Source::input, static_cast<std::size_t>(input_), nullptr},
                                {DNNL_ARG_TO, dst, PrimitiveRunner::Argument::Source::output, 0, nullptr}});
  }
  return {};
}

void ResidualPrefill::run(const RunContext& context, std::size_t slot) const {
  if (input_ < 0) return;
  const void* residual = context.inputs[static_cast<std::size_t>(input_)];
  if (residual == context.outputs[0]) return;  // in place: the planner shared the buffer
  if (same_layout_) {
    std::memcpy(context.outputs[0], residual, bytes_);
  } else {
    reorder_.execute(context, slot);
  }
}

}  // namespace cloister::engine

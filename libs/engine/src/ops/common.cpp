#include "ops/common.h"

#include <algorithm>

namespace cloister::engine {

double load_as_double(DataType type, const void* data, std::int64_t index) {
  double value = 0;
  dispatch_type(type, [&]<class T>() { value = static_cast<double>(static_cast<const T*>(data)[index]); });
  return value;
}

std::int64_t load_as_int(DataType type, const void* data, std::int64_t index) {
  std::int64_t value = 0;
  dispatch_type(type, [&]<class T>() { value = static_cast<std::int64_t>(static_cast<const T*>(data)[index]); });
  return value;
}

Result<Shape> broadcast_shapes(const NodeContext& context, std::span<const Shape* const> shapes) {
  std::size_t rank = 0;
  for (const Shape* shape : shapes) rank = std::max(rank, shape->size());
  Shape result(rank, 1);
  for (const Shape* shape : shapes) {
    std::size_t offset = rank - shape->size();
    for (std::size_t i = 0; i < shape->size(); ++i) {
      std::int64_t dimension = (*shape)[i];
      std::int64_t& current = result[offset + i];
      if (dimension == current || dimension == 1) continue;
      if (current == 1) {
        current = dimension;
        continue;
      }
      std::string text;
      for (const Shape* s : shapes) text += (text.empty() ? "" : " and ") + shape_to_string(*s);
      return context.invalid("shapes " + text + " cannot be broadcast");
    }
  }
  return result;
}

Result<Shape> broadcast_shapes(const NodeContext& context, const Shape& a, const Shape& b) {
  const Shape* shapes[] = {&a, &b};
  return broadcast_shapes(context, shapes);
}

BroadcastLoop::BroadcastLoop(const Shape& output, std::span<const Shape* const> inputs) {
  const std::size_t rank = output.size();
  elements_ = shape_element_count(output);
  // Per input strides over the output dimensions (0 where broadcast).
  std::vector<std::vector<std::int64_t>> strides(inputs.size(), std::vector<std::int64_t>(rank, 0));
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    const Shape& shape = *inputs[k];
    std::size_t offset = rank - shape.size();
    std::int64_t stride = 1;
    for (std::size_t i = shape.size(); i-- > 0;) {
      strides[k][offset + i] = shape[i] == 1 ? 0 : stride;
      stride *= shape[i];
    }
  }
  // Drop size-1 dimensions, then merge neighbours that stay contiguous for every input.
  std::vector<std::int64_t> dims;
  std::vector<std::vector<std::int64_t>> merged(inputs.size());
  for (std::size_t i = 0; i < rank; ++i) {
    if (output[i] == 1) continue;
    bool merge = !dims.empty();
    for (std::size_t k = 0; merge && k < inputs.size(); ++k) {
      merge = merged[k].back() == strides[k][i] * output[i];
    }
    if (merge) {
      dims.back() *= output[i];
      for (std::size_t k = 0; k < inputs.size(); ++k) merged[k].back() = strides[k][i];
    } else {
      dims.push_back(output[i]);
      for (std::size_t k = 0; k < inputs.size(); ++k) merged[k].push_back(strides[k][i]);
    }
  }
  if (dims.empty()) {
    dims.push_back(1);
    for (auto& m : merged) m.push_back(0);
  }
  inner_ = dims.back();
  inner_strides_.resize(inputs.size());
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    inner_strides_[k] = merged[k].back();
    merged[k].pop_back();
  }
  dims.pop_back();
  dims_ = std::move(dims);
  strides_ = std::move(merged);
  outer_ = elements_ == 0 ? 0 : elements_ / inner_;
}

std::int64_t BroadcastLoop::input_offset(std::size_t input, std::int64_t index) const {
  std::int64_t offset = 0;
  const auto& strides = strides_[input];
  for (std::size_t i = dims_.size(); i-- > 0;) {
    std::int64_t coordinate = index % dims_[i];
    index /= dims_[i];
    offset += coordinate * strides[i];
  }
  return offset;
}

StridedCopy::StridedCopy(const Shape& output_shape, std::vector<std::int64_t> input_strides, std::int64_t input_base,
                         std::size_t element_size)
    : base_(input_base), element_size_(element_size) {
  elements_ = shape_element_count(output_shape);
  std::vector<std::int64_t> dims;
  std::vector<std::int64_t> strides;
  for (std::size_t i = 0; i < output_shape.size(); ++i) {
    if (output_shape[i] == 1) continue;
    if (!dims.empty() && strides.back() == input_strides[i] * output_shape[i]) {
      dims.back() *= output_shape[i];
      strides.back() = input_strides[i];
    } else {
      dims.push_back(output_shape[i]);
      strides.push_back(input_strides[i]);
    }
  }
  if (dims.empty()) {
    dims.push_back(1);
    strides.push_back(1);
  }
  inner_ = dims.back();
  inner_stride_ = strides.back();
  dims.pop_back();
  strides.pop_back();
  dims_ = std::move(dims);
  strides_ = std::move(strides);
  outer_ = elements_ == 0 ? 0 : elements_ / inner_;
}

namespace {

template <class T>
void copy_run(const T* input, T* output, std::int64_t count, std::int64_t stride) {
  if (stride == 0) {
    std::fill(output, output + count, *input);
  } else {
    for (std::int64_t i = 0; i < count; ++i) output[i] = input[i * stride];
  }
}

}  // namespace

void StridedCopy::run(const void* input, void* output) const {
  if (elements_ == 0) return;
  const auto* in = static_cast<const std::byte*>(input);
  auto* out = static_cast<std::byte*>(output);
  const std::size_t size = element_size_;
  parallel_for(outer_, inner_, [&](std::int64_t index) {
    std::int64_t offset = base_;
    std::int64_t rest = index;
    for (std::size_t i = dims_.size(); i-- > 0;) {
      offset += (rest % dims_[i]) * strides_[i];
      rest /= dims_[i];
    }
    const std::byte* source = in + offset * static_cast<std::int64_t>(size);
    std::byte* destination = out + index * inner_ * static_cast<std::int64_t>(size);
    if (inner_stride_ == 1) {
      std::memcpy(destination, source, static_cast<std::size_t>(inner_) * size);
      return;
    }
    switch (size) {
      case 1: copy_run(reinterpret_cast<const std::uint8_t*>(source), reinterpret_cast<std::uint8_t*>(destination), inner_, inner_stride_); break;
      case 2: copy_run(reinterpret_cast<const std::uint16_t*>(source), reinterpret_cast<std::uint16_t*>(destination), inner_, inner_stride_); break;
      case 4: copy_run(reinterpret_cast<const std::uint32_t*>(source), reinterpret_cast<std::uint32_t*>(destination), inner_, inner_stride_); break;
      default: copy_run(reinterpret_cast<const std::uint64_t*>(source), reinterpret_cast<std::uint64_t*>(destination), inner_, inner_stride_); break;
    }
  });
}

Result<std::unique_ptr<Kernel>> make_alias_kernel(const ValueInfo& input, Shape shape) {
  OutputSpec spec = output(input.dtype, std::move(shape));
  spec.alias_input = 0;
  const std::size_t bytes = input.storage_bytes();
  return make_kernel({spec}, [bytes](const RunContext& run) -> Status {
    copy_if_needed(run.outputs[0], run.inputs[0], bytes);
    return {};
  });
}

}  // namespace cloister::engine

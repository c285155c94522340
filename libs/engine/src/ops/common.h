#pragma once
// Helpers shared by the operator files: kernels from lambdas, type dispatch, broadcasting, shapes.

#include "kernel.h"

#include <omp.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace cloister::engine {

// A kernel whose run() is a lambda (captures the node's configuration).
template <class Run>
class LambdaKernel final : public Kernel {
 public:
  LambdaKernel(std::vector<OutputSpec> specs, Run run, std::string description)
      : run_(std::move(run)), description_(std::move(description)) {
    outputs = std::move(specs);
  }
  Status run(const RunContext& context) const override { return run_(context); }
  std::string describe() const override { return description_; }

 private:
  Run run_;
  std::string description_;
};

template <class Run>
Result<std::unique_ptr<Kernel>> make_kernel(std::vector<OutputSpec> outputs, Run run, std::string description = {}) {
  return std::unique_ptr<Kernel>(new LambdaKernel<Run>(std::move(outputs), std::move(run), std::move(description)));
}

inline OutputSpec output(DataType type, Shape shape) { return OutputSpec{type, std::move(shape), nullptr, -1}; }

// ---- data types ----

inline bool is_float(DataType type) { return type == DataType::float32 || type == DataType::float64; }
inline bool is_signed_integer(DataType type) {
  return type == DataType::int8 || type == DataType::int16 || type == DataType::int32 || type == DataType::int64;
}
inline bool is_unsigned_integer(DataType type) {
  return type == DataType::uint8 || type == DataType::uint16 || type == DataType::uint32 || type == DataType::uint64;
}
inline bool is_integer(DataType type) { return is_signed_integer(type) || is_unsigned_integer(type); }
inline bool is_numeric(DataType type) { return is_float(type) || is_integer(type); }

// Calls f.template operator()<T>() for the C++ type of `type` (numeric types and bool);
// returns false for float16/bfloat16.
template <class F>
bool dispatch_type(DataType type, F&& f) {
  switch (type) {
    case DataType::float32: f.template operator()<float>(); return true;
    case DataType::float64: f.template operator()<double>(); return true;
    case DataType::int8: f.template operator()<std::int8_t>(); return true;
    case DataType::uint8: f.template operator()<std::uint8_t>(); return true;
    case DataType::int16: f.template operator()<std::int16_t>(); return true;
    case DataType::uint16: f.template operator()<std::uint16_t>(); return true;
    case DataType::int32: f.template operator()<std::int32_t>(); return true;
    case DataType::uint32: f.template operator()<std::uint32_t>(); return true;
    case DataType::int64: f.template operator()<std::int64_t>(); return true;
    case DataType::uint64: f.template operator()<std::uint64_t>(); return true;
    case DataType::boolean: f.template operator()<bool>(); return true;
    default: return false;
  }
}

// Reads element i of a buffer of `type` as double / int64 (for index-like and parameter inputs).
double load_as_double(DataType type, const void* data, std::int64_t index);
std::int64_t load_as_int(DataType type, const void* data, std::int64_t index);

// ---- shapes ----

inline std::vector<std::int64_t> strides_of(const Shape& shape) {
  std::vector<std::int64_t> strides(shape.size());
  std::int64_t stride = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= shape[i];
  }
  return strides;
}

inline std::int64_t product(std::span<const std::int64_t> values, std::size_t begin, std::size_t end) {
  std::int64_t result = 1;
  for (std::size_t i = begin; i < end && i < values.size(); ++i) result *= values[i];
  return result;
}

// Multidirectional (NumPy) broadcasting of several shapes.
Result<Shape> broadcast_shapes(const NodeContext& context, std::span<const Shape* const> shapes);
Result<Shape> broadcast_shapes(const NodeContext& context, const Shape& a, const Shape& b);

// Iteration over an output shape with per-input element strides (0 on broadcast dimensions),
// dimensions coalesced where possible. for_each calls f(output_offset, input_offsets[], count,
// input_inner_strides[]) for each innermost run.
class BroadcastLoop {
 public:
  BroadcastLoop(const Shape& output, std::span<const Shape* const> inputs);
  std::int64_t elements() const { return elements_; }
  std::size_t input_count() const { return strides_.size(); }
  // Number of innermost runs and the run length.
  std::int64_t outer() const { return outer_; }
  std::int64_t inner() const { return inner_; }
  std::int64_t inner_stride(std::size_t input) const { return inner_strides_[input]; }
  // Offset of the start of run `index` in input `input`.
  std::int64_t input_offset(std::size_t input, std::int64_t index) const;

 private:
  std::vector<std::int64_t> dims_;                     // outer dimensions (without the innermost)
  std::vector<std::vector<std::int64_t>> strides_;     // per input, per outer dimension
  std::vector<std::int64_t> inner_strides_;
  std::int64_t elements_ = 0;
  std::int64_t outer_ = 0;
  std::int64_t inner_ = 0;
};

// Parallel for over [0, count) when the work is large enough.
template <class F>
void parallel_for(std::int64_t count, std::int64_t grain_elements, F&& f) {
  if (count <= 1 || count * grain_elements < 32768) {
    for (std::int64_t i = 0; i < count; ++i) f(i);
    return;
  }
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < count; ++i) f(i);
}

// Output = input elements at base + sum(coordinate[i] * input_strides[i]) (strides in elements,
// 0 for broadcast, negative allowed): transposes, slices, expands, tiles, depth/space moves.
class StridedCopy {
 public:
  StridedCopy(const Shape& output_shape, std::vector<std::int64_t> input_strides, std::int64_t input_base,
              std::size_t element_size);
  void run(const void* input, void* output) const;

 private:
  std::vector<std::int64_t> dims_;     // outer dimensions
  std::vector<std::int64_t> strides_;  // input strides of the outer dimensions
  std::int64_t inner_ = 1;
  std::int64_t inner_stride_ = 1;
  std::int64_t base_ = 0;
  std::int64_t outer_ = 1;
  std::int64_t elements_ = 0;
  std::size_t element_size_ = 1;
};

// A kernel whose output is its input (0) under another shape: Reshape, Flatten, Squeeze,
// Unsqueeze, Identity. The planner lets the output share the input's buffer.
Result<std::unique_ptr<Kernel>> make_alias_kernel(const ValueInfo& input, Shape shape);

// Copies a block of bytes (the identity of reshape-like kernels when buffers differ).
inline void copy_if_needed(void* destination, const void* source, std::size_t bytes) {
  if (destination != source && bytes) std::memmove(destination, source, bytes);
}

}  // namespace cloister::engine

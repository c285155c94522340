#include "cloister/engine/tensor.h"

#include <cstdlib>
#include <cstring>
#include <string>

namespace cloister::engine {

namespace {

constexpr std::size_t kAlignment = 64;

std::shared_ptr<std::byte> allocate(std::size_t bytes) {
  std::size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  if (rounded == 0) rounded = kAlignment;
  void* memory = std::aligned_alloc(kAlignment, rounded);
  if (memory == nullptr) throw std::bad_alloc();
  std::memset(memory, 0, rounded);
  return std::shared_ptr<std::byte>(static_cast<std::byte*>(memory), [](std::byte* p) { std::free(p); });
}

}  // namespace

std::string_view data_type_name(DataType type) {
  switch (type) {
    case DataType::float32: return "float32";
    case DataType::float64: return "float64";
    case DataType::float16: return "float16";
    case DataType::bfloat16: return "bfloat16";
    case DataType::int8: return "int8";
    case DataType::uint8: return "uint8";
    case DataType::int16: return "int16";
    case DataType::uint16: return "uint16";
    case DataType::int32: return "int32";
    case DataType::uint32: return "uint32";
    case DataType::int64: return "int64";
    case DataType::uint64: return "uint64";
    case DataType::boolean: return "bool";
  }
  return "unknown";
}

std::size_t data_type_size(DataType type) {
  switch (type) {
    case DataType::float64:
    case DataType::int64:
    case DataType::uint64: return 8;
    case DataType::float32:
    case DataType::int32:
    case DataType::uint32: return 4;
    case DataType::float16:
    case DataType::bfloat16:
    case DataType::int16:
    case DataType::uint16: return 2;
    case DataType::int8:
    case DataType::uint8:
    case DataType::boolean: return 1;
  }
  return 1;
}

bool data_type_from_onnx(int onnx_type, DataType& type) {
  // Numbers from onnx.proto TensorProto.DataType.
  switch (onnx_type) {
    case 1: type = DataType::float32; return true;
    case 2: type = DataType::uint8; return true;
    case 3: type = DataType::int8; return true;
    case 4: type = DataType::uint16; return true;
    case 5: type = DataType::int16; return true;
    case 6: type = DataType::int32; return true;
    case 7: type = DataType::int64; return true;
    case 9: type = DataType::boolean; return true;
    case 10: type = DataType::float16; return true;
    case 11: type = DataType::float64; return true;
    case 12: type = DataType::uint32; return true;
    case 13: type = DataType::uint64; return true;
    case 16: type = DataType::bfloat16; return true;
    default: return false;
  }
}

int data_type_to_onnx(DataType type) {
  switch (type) {
    case DataType::float32: return 1;
    case DataType::uint8: return 2;
    case DataType::int8: return 3;
    case DataType::uint16: return 4;
    case DataType::int16: return 5;
    case DataType::int32: return 6;
    case DataType::int64: return 7;
    case DataType::boolean: return 9;
    case DataType::float16: return 10;
    case DataType::float64: return 11;
    case DataType::uint32: return 12;
    case DataType::uint64: return 13;
    case DataType::bfloat16: return 16;
  }
  return 0;
}

std::int64_t shape_element_count(std::span<const std::int64_t> shape) {
  constexpr std::int64_t kMax = std::int64_t{1} << 62;
  std::int64_t count = 1;
  for (std::int64_t dimension : shape) {
    if (dimension < 0) return -1;
    if (dimension == 0) {
      count = 0;
      continue;
    }
    if (count != 0 && count > kMax / dimension) {
      // Keep scanning: a later zero makes the product zero.
      for (std::int64_t rest : shape) {
        if (rest == 0) return 0;
      }
      return -1;
    }
    count *= dimension;
  }
  return count;
}

std::string shape_to_string(std::span<const std::int64_t> shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) text += ',';
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

Tensor::Tensor(DataType type, Shape shape) : dtype_(type), shape_(std::move(shape)) {
  elements_ = shape_element_count(shape_);
  if (elements_ < 0) throw std::invalid_argument("tensor shape " + shape_to_string(shape_) + " is invalid");
  storage_ = allocate(byte_size());
}

Tensor Tensor::from_bytes(DataType type, Shape shape, std::span<const std::byte> data) {
  Tensor tensor(type, std::move(shape));
  if (data.size() != tensor.byte_size()) throw std::invalid_argument("tensor data size does not match its shape");
  if (!data.empty()) std::memcpy(tensor.bytes(), data.data(), data.size());
  return tensor;
}

Tensor::Tensor(const Tensor& other) : dtype_(other.dtype_), shape_(other.shape_), elements_(other.elements_) {
  if (other.storage_) {
    storage_ = allocate(byte_size());
    if (byte_size()) std::memcpy(storage_.get(), other.storage_.get(), byte_size());
  }
}

Tensor& Tensor::operator=(const Tensor& other) {
  if (this != &other) {
    Tensor copy(other);
    *this = std::move(copy);
  }
  return *this;
}

void Tensor::reshape(Shape shape) {
  if (shape_element_count(shape) != elements_) {
    throw std::invalid_argument("reshape to " + shape_to_string(shape) + " changes the element count");
  }
  shape_ = std::move(shape);
}

void Tensor::check_type(DataType expected) const {
  if (expected != dtype_) {
    throw std::logic_error("tensor of type " + std::string(data_type_name(dtype_)) + " accessed as " +
                           std::string(data_type_name(expected)));
  }
}

}  // namespace cloister::engine

#pragma once
// Tensors of the engine: a data type, a shape and a dense row-major buffer (64-byte aligned).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace cloister::engine {

// The element types the engine knows (names follow ONNX's TensorProto.DataType, lower case).
enum class DataType : std::uint8_t {
  float32,
  float64,
  float16,
  bfloat16,
  int8,
  uint8,
  int16,
  uint16,
  int32,
  uint32,
  int64,
  uint64,
  boolean,
};

std::string_view data_type_name(DataType type);  // "float32", "int64", "bool", ...
std::size_t data_type_size(DataType type);       // bytes per element

// ONNX TensorProto.DataType number <-> DataType (nullptr-like false when unknown/unsupported).
bool data_type_from_onnx(int onnx_type, DataType& type);
int data_type_to_onnx(DataType type);

template <class T>
constexpr DataType data_type_of();
template <> constexpr DataType data_type_of<float>() { return DataType::float32; }
template <> constexpr DataType data_type_of<double>() { return DataType::float64; }
template <> constexpr DataType data_type_of<std::int8_t>() { return DataType::int8; }
template <> constexpr DataType data_type_of<std::uint8_t>() { return DataType::uint8; }
template <> constexpr DataType data_type_of<std::int16_t>() { return DataType::int16; }
template <> constexpr DataType data_type_of<std::uint16_t>() { return DataType::uint16; }
template <> constexpr DataType data_type_of<std::int32_t>() { return DataType::int32; }
template <> constexpr DataType data_type_of<std::uint32_t>() { return DataType::uint32; }
template <> constexpr DataType data_type_of<std::int64_t>() { return DataType::int64; }
template <> constexpr DataType data_type_of<std::uint64_t>() { return DataType::uint64; }
template <> constexpr DataType data_type_of<bool>() { return DataType::boolean; }

using Shape = std::vector<std::int64_t>;

// Number of elements of a shape (1 for a scalar); -1 when a dimension is negative or the product
// overflows 2^62.
std::int64_t shape_element_count(std::span<const std::int64_t> shape);
// "[1,3,224,224]"
std::string shape_to_string(std::span<const std::int64_t> shape);

class Tensor {
 public:
  Tensor() = default;
  // Zero-filled tensor. Throws std::invalid_argument on a negative dimension (a programmer error:
  // untrusted shapes are validated before they reach here).
  Tensor(DataType type, Shape shape);
  // Copies `data` (its size must equal the tensor's byte size; std::invalid_argument otherwise).
  static Tensor from_bytes(DataType type, Shape shape, std::span<const std::byte> data);
  template <class T>
  static Tensor from_values(Shape shape, std::span<const T> values) {
    return from_bytes(data_type_of<T>(), std::move(shape), std::as_bytes(values));
  }
  template <class T>
  static Tensor from_values(Shape shape, std::initializer_list<T> values) {
    return from_values<T>(std::move(shape), std::span<const T>(values.begin(), values.size()));
  }
  template <class T>
  static Tensor scalar(T value) {
    return from_values<T>({}, std::span<const T>(&value, 1));
  }

  Tensor(const Tensor& other);  // deep copy
  Tensor& operator=(const Tensor& other);
  Tensor(Tensor&&) noexcept = default;
  Tensor& operator=(Tensor&&) noexcept = default;
  ~Tensor() = default;

  DataType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  std::size_t rank() const { return shape_.size(); }
  std::int64_t element_count() const { return elements_; }
  std::size_t byte_size() const { return static_cast<std::size_t>(elements_) * data_type_size(dtype_); }
  bool empty() const { return elements_ == 0; }

  std::byte* bytes() { return storage_.get(); }
  const std::byte* bytes() const { return storage_.get(); }
  std::span<const std::byte> byte_span() const { return {storage_.get(), byte_size()}; }

  // Typed access; throws std::logic_error when T does not match the data type.
  template <class T>
  T* data() {
    check_type(data_type_of<T>());
    return reinterpret_cast<T*>(storage_.get());
  }
  template <class T>
  const T* data() const {
    check_type(data_type_of<T>());
    return reinterpret_cast<const T*>(storage_.get());
  }
  template <class T>
  std::span<const T> values() const {
    return {data<T>(), static_cast<std::size_t>(elements_)};
  }

  // Same data, new shape with the same element count (std::invalid_argument otherwise).
  void reshape(Shape shape);

 private:
  void check_type(DataType expected) const;

  DataType dtype_ = DataType::float32;
  Shape shape_;
  std::int64_t elements_ = 0;
  std::shared_ptr<std::byte> storage_;
};

}  // namespace cloister::engine

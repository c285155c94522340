#include "cloister/engine/tensor.h"

#include <gtest/gtest.h>

namespace cloister::engine {
namespace {

TEST(Tensor, ShapesAndElementCounts) {
  EXPECT_EQ(shape_element_count(Shape{}), 1);
  EXPECT_EQ(shape_element_count(Shape{2, 3, 4}), 24);
  EXPECT_EQ(shape_element_count(Shape{2, 0, 4}), 0);
  EXPECT_EQ(shape_element_count(Shape{-1, 3}), -1);
  EXPECT_EQ(shape_element_count(Shape{std::int64_t{1} << 40, std::int64_t{1} << 40}), -1);
  EXPECT_EQ(shape_element_count(Shape{std::int64_t{1} << 40, std::int64_t{1} << 40, 0}), 0);
  EXPECT_EQ(shape_to_string(Shape{1, 3, 224, 224}), "[1,3,224,224]");
}

TEST(Tensor, ZeroFilledAlignedAndTyped) {
  Tensor tensor(DataType::float32, {2, 3});
  EXPECT_EQ(tensor.element_count(), 6);
  EXPECT_EQ(tensor.byte_size(), 24u);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(tensor.bytes()) % 64, 0u);
  for (float value : tensor.values<float>()) EXPECT_EQ(value, 0.0f);
  EXPECT_THROW((void)tensor.data<std::int64_t>(), std::logic_error);
  EXPECT_THROW(Tensor(DataType::float32, {-1}), std::invalid_argument);
}

TEST(Tensor, CopiesAreDeepAndReshapeKeepsCount) {
  auto original = Tensor::from_values<float>({2, 2}, {1, 2, 3, 4});
  Tensor copy = original;
  copy.data<float>()[0] = 42;
  EXPECT_EQ(original.values<float>()[0], 1.0f);
  copy.reshape({4});
  EXPECT_EQ(copy.shape(), (Shape{4}));
  EXPECT_THROW(copy.reshape({3}), std::invalid_argument);
  EXPECT_THROW(Tensor::from_bytes(DataType::float32, {3}, original.byte_span()), std::invalid_argument);
}

TEST(Tensor, OnnxTypeNumbersRoundTrip) {
  for (int number : {1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 16}) {
    DataType type;
    ASSERT_TRUE(data_type_from_onnx(number, type)) << number;
    EXPECT_EQ(data_type_to_onnx(type), number);
  }
  DataType type;
  EXPECT_FALSE(data_type_from_onnx(8, type));   // string
  EXPECT_FALSE(data_type_from_onnx(14, type));  // complex64
  EXPECT_FALSE(data_type_from_onnx(999, type));
}

}  // namespace
}  // namespace cloister::engine

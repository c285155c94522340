#include "cloister/engine/npy.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <unistd.h>

namespace cloister::engine {
namespace {

std::span<const std::byte> as_bytes(const std::string& text) { return std::as_bytes(std::span(text.data(), text.size())); }

TEST(Npy, RoundTripsTypesAndShapes) {
  std::vector<Tensor> tensors{Tensor::from_values<float>({2, 3}, {1, 2, 3, 4, 5, 6}), Tensor::scalar<std::int64_t>(-7),
                              Tensor::from_values<bool>({3}, {true, false, true}), Tensor(DataType::uint8, {0, 4}),
                              Tensor::from_values<double>({1, 1, 2}, {0.5, -0.25})};
  for (const auto& tensor : tensors) {
    auto image = to_npy(tensor);
    EXPECT_EQ(image.find('\n') + 1, image.size() - tensor.byte_size());
    EXPECT_EQ((image.size() - tensor.byte_size()) % 64, 0u);
    auto parsed = parse_npy(as_bytes(image));
    ASSERT_TRUE(parsed) << parsed.error().to_string();
    EXPECT_EQ(parsed->dtype(), tensor.dtype());
    EXPECT_EQ(parsed->shape(), tensor.shape());
    EXPECT_EQ(std::memcmp(parsed->bytes(), tensor.bytes(), tensor.byte_size()), 0);
  }
}

TEST(Npy, ReadsNumpyWrittenHeaders) {
  // What numpy.save writes for np.arange(3, dtype='<i4'), byte for byte (header padded to 64).
  std::string header = "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }";
  header.append(128 - 10 - header.size() - 1, ' ');
  header += '\n';
  std::string image = std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(header.size()) + '\0' + header;
  for (std::int32_t v : {0, 1, 2}) image.append(reinterpret_cast<const char*>(&v), 4);
  auto parsed = parse_npy(as_bytes(image));
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  EXPECT_EQ(parsed->shape(), (Shape{3}));
  EXPECT_EQ(parsed->values<std::int32_t>()[2], 2);
}

TEST(Npy, RefusesMalformedFiles) {
  auto good = to_npy(Tensor::from_values<float>({2}, {1, 2}));
  EXPECT_EQ(parse_npy(as_bytes("hello")).error().code, ErrorCode::bad_request);
  EXPECT_EQ(parse_npy(as_bytes(good.substr(0, good.size() - 1))).error().code, ErrorCode::bad_request);
  EXPECT_EQ(parse_npy(as_bytes(good + "x")).error().code, ErrorCode::bad_request);
  auto fortran = good;
  fortran.replace(fortran.find("False"), 5, "True ");
  EXPECT_EQ(parse_npy(as_bytes(fortran)).error().code, ErrorCode::bad_request);
  auto big_endian = good;
  big_endian.replace(big_endian.find("<f4"), 3, ">f4");
  EXPECT_EQ(parse_npy(as_bytes(big_endian)).error().code, ErrorCode::engine_unsupported_data_type);
  auto huge = good;
  huge.replace(huge.find("(2,)"), 4, "(99999999999999,)");
  EXPECT_FALSE(parse_npy(as_bytes(huge)));
  // Every truncation of a valid image is refused without crashing.
  for (std::size_t n = 0; n < good.size(); ++n) EXPECT_FALSE(parse_npy(as_bytes(good.substr(0, n))));
}

TEST(Npy, FilesRoundTrip) {
  auto path = std::filesystem::temp_directory_path() / ("cloister_npy_" + std::to_string(::getpid()) + ".npy");
  auto tensor = Tensor::from_values<float>({1, 2}, {3, 4});
  ASSERT_TRUE(write_npy_file(path, tensor));
  auto read = read_npy_file(path);
  std::filesystem::remove(path);
  ASSERT_TRUE(read) << read.error().to_string();
  EXPECT_EQ(read->values<float>()[1], 4.0f);
  EXPECT_EQ(read_npy_file(path).error().code, ErrorCode::io_error);
}

}  // namespace
}  // namespace cloister::engine

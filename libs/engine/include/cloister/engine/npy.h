#pragma once
// NumPy .npy files (format versions 1.0-3.0, little-endian, C order): the CLI's tensor exchange.

#include "cloister/core/error.h"
#include "cloister/engine/tensor.h"

#include <cstddef>
#include <filesystem>
#include <span>
#include <string>

namespace cloister::engine {

// Parses a .npy image. Accepts <f4 <f8 |i1 |u1 <i2 <u2 <i4 <u4 <i8 <u8 |b1 <f2 and
// fortran_order False. Errors: bad_request (malformed header / size mismatch),
// engine_unsupported_data_type (other dtypes).
Result<Tensor> parse_npy(std::span<const std::byte> bytes);
Result<Tensor> read_npy_file(const std::filesystem::path& path);

// Serializes a tensor as a version 1.0 .npy image.
std::string to_npy(const Tensor& tensor);
Status write_npy_file(const std::filesystem::path& path, const Tensor& tensor);

}  // namespace cloister::engine

#pragma once
// Private: the libpng writer shared by encode_png_image and the mask encoder.

#include <cstdint>
#include <span>
#include <string>

#include "cloister/core/error.h"

namespace cloister::imaging::detail {

// A PNG of width × height pixels with `channels` (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA) samples of
// `bit_depth` (8 or 16) bits; `samples` row-major, interleaved (16-bit as host integers).
// Deterministic bytes: no time chunk, fixed zlib level and filters.
Result<std::string> write_png(std::uint32_t width, std::uint32_t height, int channels, int bit_depth,
                              std::span<const std::uint16_t> samples);

}  // namespace cloister::imaging::detail

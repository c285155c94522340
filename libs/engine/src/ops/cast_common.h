#pragma once
// Element conversions shared by Cast and CastLike (float16 and bfloat16 included).

#include "ops/common.h"

namespace cloister::engine {

float half_to_float(std::uint16_t half);
std::uint16_t float_to_half(float value);
float bfloat_to_float(std::uint16_t bfloat);
std::uint16_t float_to_bfloat(float value);

Result<std::unique_ptr<Kernel>> make_cast_kernel(NodeContext& context, DataType target);

}  // namespace cloister::engine

#pragma once
// Resize / Upsample: nearest, linear and cubic interpolation over any dimensions, with every ONNX
// coordinate transformation mode (the ONNX reference implementation's arithmetic).

#include "ops/common.h"

#include <string>

namespace cloister::engine {

struct ResizeSpec {
  std::string mode = "nearest";                       // nearest | linear | cubic
  std::string coordinate_mode = "half_pixel";
  std::string nearest_mode = "round_prefer_floor";
  float cubic_coefficient = -0.75f;
  bool exclude_outside = false;
  float extrapolation_value = 0.0f;
  std::vector<double> scales;      // per dimension
  std::vector<std::int64_t> sizes; // per dimension (output)
  std::vector<double> roi;         // tf_crop_and_resize: starts then ends
};

Result<std::unique_ptr<Kernel>> make_resize_kernel(NodeContext& context, const ValueInfo& x, ResizeSpec spec);

}  // namespace cloister::engine

#pragma once
// Spatial geometry shared by Conv, ConvTranspose and the pooling operators: kernel, strides,
// dilations, auto_pad / pads, output sizes.

#include "ops/common.h"

namespace cloister::engine {

struct SpatialGeometry {
  std::vector<std::int64_t> kernel;
  std::vector<std::int64_t> strides;
  std::vector<std::int64_t> dilations;
  std::vector<std::int64_t> pad_begin;
  std::vector<std::int64_t> pad_end;     // as ONNX gives it
  std::vector<std::int64_t> dnnl_pad_end;  // what oneDNN needs for the same output (ceil mode)
  std::vector<std::int64_t> output;
};

// Reads strides, dilations (when allowed), auto_pad and pads for `kernel` over `input` spatial
// sizes and computes the output sizes (floor, or ceil when ceil_mode).
Result<SpatialGeometry> resolve_spatial(const NodeContext& context, std::span<const std::int64_t> input,
                                        std::vector<std::int64_t> kernel, bool ceil_mode, bool allow_dilations);

// oneDNN's dims for a geometry vector (dilations are stored minus one in oneDNN).
inline std::vector<std::int64_t> dnnl_dilations(const SpatialGeometry& geometry) {
  std::vector<std::int64_t> result;
  for (auto d : geometry.dilations) result.push_back(d - 1);
  return result;
}

}  // namespace cloister::engine

#pragma once
// Pooling on oneDNN (MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool).

#include "ops/common.h"
#include "ops/spatial.h"

namespace cloister::engine {

enum class PoolKind { max, average_include_padding, average_exclude_padding };

// A oneDNN pooling kernel for input `x` with the geometry's output.
Result<std::unique_ptr<Kernel>> make_pool_kernel(const NodeContext& context, const ValueInfo& x, PoolKind kind,
                                                 SpatialGeometry geometry);

// MaxPool / AveragePool attributes → geometry (kernel_shape, strides, pads, auto_pad, ceil_mode).
Result<SpatialGeometry> pool_geometry(const NodeContext& context, const ValueInfo& x, bool allow_dilations);

// Kernel = the whole spatial extent, no padding, output 1 x ... x 1.
Result<SpatialGeometry> global_geometry(const Shape& shape);

}  // namespace cloister::engine

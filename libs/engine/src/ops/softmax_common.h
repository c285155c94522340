#pragma once
// Softmax, LogSoftmax and Hardmax share the axis semantics: before opset 13 the input is coerced
// to 2D at `axis` (default 1); from 13 on they work along one axis (default -1).

#include "ops/common.h"

namespace cloister::engine {

struct SoftmaxGeometry {
  std::int64_t outer = 1;
  std::int64_t axis = 1;   // the length along the reduced axis
  std::int64_t inner = 1;
};

Result<SoftmaxGeometry> softmax_geometry(const NodeContext& context, const Shape& shape);

// Softmax (log = false) or LogSoftmax on oneDNN (float32), plain C++ for float64.
Result<std::unique_ptr<Kernel>> make_softmax_kernel(NodeContext& context, bool log);

}  // namespace cloister::engine

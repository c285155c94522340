#pragma once
// ScatterElements (and the deprecated Scatter): copy data, then write updates at the indexed
// positions along an axis, with an optional reduction (add, mul, max, min).

#include "ops/common.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> scatter_elements_kernel(NodeContext& context);

// Applies `reduction` ("none", "add", "mul", "max", "min") of `update` into `target` (type T).
template <class T>
void scatter_reduce(T& target, T update, const std::string& reduction) {
  if (reduction == "add") target = static_cast<T>(target + update);
  else if (reduction == "mul") target = static_cast<T>(target * update);
  else if (reduction == "max") target = target < update ? update : target;
  else if (reduction == "min") target = update < target ? update : target;
  else target = update;
}

}  // namespace cloister::engine

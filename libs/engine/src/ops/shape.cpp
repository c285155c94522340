// Shape: the input's dimensions as int64 (start/end from opset 15); folded at compile time.
#include "ops/common.h"
#include "ops/operators.h"

#include <algorithm>

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_shape(NodeContext& context) {
  auto x = context.required_input(0);
  if (!x) return std::unexpected(x.error());
  const auto rank = static_cast<std::int64_t>((*x)->shape.size());
  auto start = context.attribute_int("start", 0);
  if (!start) return std::unexpected(start.error());
  auto end = context.attribute_int("end", rank);
  if (!end) return std::unexpected(end.error());
  std::int64_t first = *start < 0 ? *start + rank : *start;
  std::int64_t last = *end < 0 ? *end + rank : *end;
  first = std::clamp<std::int64_t>(first, 0, rank);
  last = std::clamp<std::int64_t>(last, 0, rank);
  std::vector<std::int64_t> dims;
  for (std::int64_t i = first; i < last; ++i) dims.push_back((*x)->shape[static_cast<std::size_t>(i)]);
  auto kernel = make_kernel({output(DataType::int64, {static_cast<std::int64_t>(dims.size())})}, [dims](const RunContext& run) -> Status {
    if (!dims.empty()) std::memcpy(run.outputs[0], dims.data(), dims.size() * sizeof(std::int64_t));
    return {};
  });
  if (kernel) (*kernel)->reads_input_data = false;
  return kernel;
}

}  // namespace cloister::engine

// Clip: y = min(max(x, min), max); bounds from attributes (before opset 11) or optional scalar
// inputs (read at run time).
#include "ops/elementwise.h"
#include "ops/eltwise.h"
#include "ops/operators.h"

#include <algorithm>

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_clip(NodeContext& context) {
  auto x = context.required_input(0);
  if (!x) return std::unexpected(x.error());
  const DataType type = (*x)->dtype;
  const std::int64_t count = (*x)->elements();
  float attribute_min = -std::numeric_limits<float>::infinity();
  float attribute_max = std::numeric_limits<float>::infinity();
  if (context.opset() < 11) {
    auto low = context.attribute_float("min", attribute_min);
    if (!low) return std::unexpected(low.error());
    auto high = context.attribute_float("max", attribute_max);
    if (!high) return std::unexpected(high.error());
    attribute_min = *low;
    attribute_max = *high;
  } else {
    for (std::size_t i = 1; i < 3; ++i) {
      if (!context.has_input(i)) continue;
      if (context.input(i)->dtype != type) return context.invalid("min and max must have the input's type");
      if (context.input(i)->elements() != 1) return context.invalid("min and max must be scalars");
    }
  }
  const bool use_inputs = context.opset() >= 11;
  // Bounds known at compile time (attributes, or constant inputs): a oneDNN clip for float32.
  bool known = !use_inputs;
  float known_min = attribute_min, known_max = attribute_max;
  if (use_inputs && type == DataType::float32) {
    known = true;
    for (std::size_t i = 1; i < 3; ++i) {
      if (!context.has_input(i)) continue;
      if (!context.input(i)->constant) {
        known = false;
        continue;
      }
      (i == 1 ? known_min : known_max) = context.input(i)->constant->values<float>()[0];
    }
  }
  Result<std::unique_ptr<Kernel>> result = context.unsupported_type(type);
  dispatch_type(type, [&]<class T>() {
    if constexpr (type_in_set<T, kNumericTypes>()) {
      result = make_kernel({output(type, (*x)->shape)}, [=](const RunContext& run) -> Status {
        T low = std::numeric_limits<T>::lowest();
        T high = std::numeric_limits<T>::max();
        if (use_inputs) {
          if (run.inputs.size() > 1 && run.inputs[1]) low = *run.in<T>(1);
          if (run.inputs.size() > 2 && run.inputs[2]) high = *run.in<T>(2);
        } else {
          if constexpr (std::is_floating_point_v<T>) {
            low = static_cast<T>(attribute_min);
            high = static_cast<T>(attribute_max);
          }
        }
        const T* in = run.in<T>(0);
        T* out = run.out<T>(0);
        const std::int64_t blocks = (count + kElementwiseBlock - 1) / kElementwiseBlock;
        parallel_for(blocks, kElementwiseBlock, [&](std::int64_t block) {
          const std::int64_t begin = block * kElementwiseBlock;
          const std::int64_t end = std::min(count, begin + kElementwiseBlock);
          for (std::int64_t i = begin; i < end; ++i) {
            T v = in[i];
            v = v < low ? low : v;
            out[i] = v > high ? high : v;
          }
        });
        return {};
      });
    }
  });
  if (known && type == DataType::float32 && result) {
    return make_eltwise(context, EltwiseKind::clip, std::max(known_min, -3.4e38f), std::min(known_max, 3.4e38f), std::move(result));
  }
  return result;
}

}  // namespace cloister::engine

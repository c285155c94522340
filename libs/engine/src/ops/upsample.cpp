// Upsample (deprecated, opset 7-9): Resize with asymmetric coordinates (nearest: floor).
#include "ops/operators.h"
#include "ops/resize_common.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_upsample(NodeContext& context) {
  auto x = context.required_input(0);
  if (!x) return std::unexpected(x.error());
  ResizeSpec spec;
  auto mode = context.attribute_string("mode", "nearest");
  if (!mode) return std::unexpected(mode.error());
  spec.mode = *mode == "bilinear" ? "linear" : *mode;
  spec.coordinate_mode = "asymmetric";
  spec.nearest_mode = "floor";
  if (context.opset() < 9) {
    auto scales = context.attribute_floats("scales");
    if (!scales) return std::unexpected(scales.error());
    spec.scales.assign(scales->begin(), scales->end());
  } else {
    auto scales = context.constant_floats(1);
    if (!scales) return std::unexpected(scales.error());
    spec.scales = *scales;
  }
  return make_resize_kernel(context, **x, std::move(spec));
}

}  // namespace cloister::engine

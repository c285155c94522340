// Resize (opset 10-18): nearest / linear / cubic over any dimensions, all coordinate
// transformation modes; scales or sizes must be known at compile time.
#include "ops/operators.h"
#include "ops/resize_common.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_resize(NodeContext& context) {
  auto x = context.required_input(0);
  if (!x) return std::unexpected(x.error());
  ResizeSpec spec;
  auto mode = context.attribute_string("mode", "nearest");
  if (!mode) return std::unexpected(mode.error());
  spec.mode = *mode;
  if (context.opset() < 11) {
    spec.coordinate_mode = "asymmetric";
    spec.nearest_mode = "floor";
    auto scales = context.constant_floats(1);
    if (!scales) return std::unexpected(scales.error());
    spec.scales = *scales;
    return make_resize_kernel(context, **x, std::move(spec));
  }
  auto coordinate = context.attribute_string("coordinate_transformation_mode", "half_pixel");
  if (!coordinate) return std::unexpected(coordinate.error());
  auto nearest = context.attribute_string("nearest_mode", "round_prefer_floor");
  if (!nearest) return std::unexpected(nearest.error());
  auto cubic = context.attribute_float("cubic_coeff_a", -0.75f);
  if (!cubic) return std::unexpected(cubic.error());
  auto exclude = context.attribute_int("exclude_outside", 0);
  if (!exclude) return std::unexpected(exclude.error());
  auto extrapolation = context.attribute_float("extrapolation_value", 0.0f);
  if (!extrapolation) return std::unexpected(extrapolation.error());
  if (context.has_attribute("antialias") || context.has_attribute("axes") || context.has_attribute("keep_aspect_ratio_policy")) {
    auto antialias = context.attribute_int("antialias", 0);
    if (!antialias || *antialias != 0 || context.has_attribute("axes") || context.has_attribute("keep_aspect_ratio_policy")) {
      return context.unsupported("antialias, axes and keep_aspect_ratio_policy (opset 18) are not supported");
    }
  }
  spec.coordinate_mode = *coordinate;
  spec.nearest_mode = *nearest;
  spec.cubic_coefficient = *cubic;
  spec.exclude_outside = *exclude != 0;
  spec.extrapolation_value = *extrapolation;
  if (spec.coordinate_mode == "tf_crop_and_resize") {
    auto roi = context.constant_floats(1);
    if (!roi) return std::unexpected(roi.error());
    spec.roi = *roi;
  }
  const bool has_scales = context.has_input(2) && context.input(2)->elements() > 0;
  const bool has_sizes = context.has_input(3) && context.input(3)->elements() > 0;
  if (has_scales == has_sizes) return context.invalid("exactly one of scales and sizes must be given");
  if (has_scales) {
    auto scales = context.constant_floats(2);
    if (!scales) return std::unexpected(scales.error());
    spec.scales = *scales;
  } else {
    auto sizes = context.constant_ints(3);
    if (!sizes) return std::unexpected(sizes.error());
    spec.sizes = *sizes;
  }
  return make_resize_kernel(context, **x, std::move(spec));
}

}  // namespace cloister::engine

#include "ops/spatial.h"

namespace cloister::engine {

Result<SpatialGeometry> resolve_spatial(const NodeContext& context, std::span<const std::int64_t> input,
                                        std::vector<std::int64_t> kernel, bool ceil_mode, bool allow_dilations) {
  const std::size_t n = input.size();
  SpatialGeometry geometry;
  if (kernel.size() != n) return context.invalid("kernel_shape has " + std::to_string(kernel.size()) + " entries for " + std::to_string(n) + " spatial dimensions");
  for (auto k : kernel) {
    if (k <= 0) return context.invalid("kernel dimensions must be positive");
  }
  geometry.kernel = std::move(kernel);
  auto strides = context.attribute_ints("strides", std::vector<std::int64_t>(n, 1));
  if (!strides) return std::unexpected(strides.error());
  auto dilations = context.attribute_ints("dilations", std::vector<std::int64_t>(n, 1));
  if (!dilations) return std::unexpected(dilations.error());
  if (strides->empty()) strides->assign(n, 1);
  if (dilations->empty()) dilations->assign(n, 1);
  if (strides->size() != n || dilations->size() != n) return context.invalid("strides and dilations need one entry per spatial dimension");
  constexpr std::int64_t kMaxGeometry = std::int64_t{1} << 30;  // keeps the arithmetic below in range
  for (auto k : geometry.kernel) {
    if (k > kMaxGeometry) return context.invalid("kernel dimensions are too large");
  }
  for (std::size_t i = 0; i < n; ++i) {
    if ((*strides)[i] <= 0 || (*dilations)[i] <= 0) return context.invalid("strides and dilations must be positive");
    if ((*strides)[i] > kMaxGeometry || (*dilations)[i] > kMaxGeometry) return context.invalid("strides or dilations are too large");
    if (!allow_dilations && (*dilations)[i] != 1) return context.unsupported("dilations are not supported here");
  }
  geometry.strides = *strides;
  geometry.dilations = *dilations;
  auto auto_pad = context.attribute_string("auto_pad", "NOTSET");
  if (!auto_pad) return std::unexpected(auto_pad.error());
  auto pads = context.attribute_ints("pads", std::vector<std::int64_t>(2 * n, 0));
  if (!pads) return std::unexpected(pads.error());
  if (pads->empty()) pads->assign(2 * n, 0);
  if (pads->size() != 2 * n) return context.invalid("pads needs two entries per spatial dimension");
  for (auto p : *pads) {
    if (p < 0) return context.unsupported("negative pads are not supported");
    if (p > kMaxGeometry) return context.invalid("pads are too large");
  }
  geometry.pad_begin.assign(n, 0);
  geometry.pad_end.assign(n, 0);
  geometry.output.assign(n, 0);
  geometry.dnnl_pad_end.assign(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t in = input[i];
    const std::int64_t s = geometry.strides[i];
    const std::int64_t extent = (geometry.kernel[i] - 1) * geometry.dilations[i] + 1;
    std::int64_t out;
    if (*auto_pad == "SAME_UPPER" || *auto_pad == "SAME_LOWER") {
      out = (in + s - 1) / s;
      std::int64_t total = std::max<std::int64_t>(0, (out - 1) * s + extent - in);
      if (*auto_pad == "SAME_UPPER") {
        geometry.pad_begin[i] = total / 2;
        geometry.pad_end[i] = total - total / 2;
      } else {
        geometry.pad_end[i] = total / 2;
        geometry.pad_begin[i] = total - total / 2;
      }
    } else if (*auto_pad == "VALID") {
      if (in < extent) return context.invalid("the kernel is larger than the input");
      out = (in - extent) / s + 1;
    } else if (*auto_pad == "NOTSET") {
      geometry.pad_begin[i] = (*pads)[i];
      geometry.pad_end[i] = (*pads)[i + n];
      const std::int64_t padded = in + geometry.pad_begin[i] + geometry.pad_end[i];
      if (padded < extent) return context.invalid("the kernel is larger than the padded input");
      if (ceil_mode) {
        out = (padded - extent + s - 1) / s + 1;
        if ((out - 1) * s >= in + geometry.pad_begin[i]) --out;  // the last window must start inside
      } else {
        out = (padded - extent) / s + 1;
      }
    } else {
      return context.invalid("auto_pad '" + *auto_pad + "' is not NOTSET, SAME_UPPER, SAME_LOWER or VALID");
    }
    geometry.output[i] = out;
    if (out <= 0) return context.invalid("the output would be empty");
    // oneDNN checks out == (in + begin + end - extent) / s + 1 (floor): the end padding that
    // yields exactly `out`, or ONNX's when that would be negative (floor drops the tail).
    const std::int64_t exact = (out - 1) * s + extent - in - geometry.pad_begin[i];
    geometry.dnnl_pad_end[i] = exact >= 0 ? exact : geometry.pad_end[i];
  }
  return geometry;
}

}  // namespace cloister::engine

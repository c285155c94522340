// DepthToSpace: moves channel blocks into spatial blocks (DCR or CRD order).
#include "ops/common.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_depth_to_space(NodeContext& context) {
  auto x = context.required_input(0);
  if (!x) return std::unexpected(x.error());
  const Shape& s = (*x)->shape;
  if (s.size() != 4) return context.invalid("input must be 4D");
  auto blocksize = context.required_attribute_int("blocksize");
  if (!blocksize) return std::unexpected(blocksize.error());
  auto mode = context.attribute_string("mode", "DCR");
  if (!mode) return std::unexpected(mode.error());
  const std::int64_t b = *blocksize;
  if (b <= 0 || b > (std::int64_t{1} << 20) || s[1] % (b * b) != 0) return context.invalid("blocksize must divide the channels by its square");
  const std::int64_t n = s[0], c = s[1] / (b * b), h = s[2], w = s[3];
  // View the input as 6D, permute, read out as [n, c, h*b, w*b].
  Shape view;
  std::vector<std::int64_t> perm;
  if (*mode == "DCR") {
    view = {n, b, b, c, h, w};
    perm = {0, 3, 4, 1, 5, 2};
  } else if (*mode == "CRD") {
    view = {n, c, b, b, h, w};
    perm = {0, 1, 4, 2, 5, 3};
  } else {
    return context.invalid("mode must be DCR or CRD");
  }
  const auto strides = strides_of(view);
  Shape permuted;
  std::vector<std::int64_t> input_strides;
  for (auto p : perm) {
    permuted.push_back(view[static_cast<std::size_t>(p)]);
    input_strides.push_back(strides[static_cast<std::size_t>(p)]);
  }
  auto copy = std::make_shared<const StridedCopy>(permuted, input_strides, 0, data_type_size((*x)->dtype));
  return make_kernel({output((*x)->dtype, {n, c, h * b, w * b})}, [copy](const RunContext& run) -> Status {
    copy->run(run.inputs[0], run.outputs[0]);
    return {};
  });
}

}  // namespace cloister::engine

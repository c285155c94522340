// SpaceToDepth: moves spatial blocks into channels.
#include "ops/common.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_space_to_depth(NodeContext& context) {
  auto x = context.required_input(0);
  if (!x) return std::unexpected(x.error());
  const Shape& s = (*x)->shape;
  if (s.size() != 4) return context.invalid("input must be 4D");
  auto blocksize = context.required_attribute_int("blocksize");
  if (!blocksize) return std::unexpected(blocksize.error());
  const std::int64_t b = *blocksize;
  if (b <= 0 || b > (std::int64_t{1} << 20) || s[2] % b != 0 || s[3] % b != 0) return context.invalid("blocksize must divide height and width");
  const std::int64_t n = s[0], c = s[1], h = s[2] / b, w = s[3] / b;
  const Shape view{n, c, h, b, w, b};
  const std::vector<std::int64_t> perm{0, 3, 5, 1, 2, 4};
  const auto strides = strides_of(view);
  Shape permuted;
  std::vector<std::int64_t> input_strides;
  for (auto p : perm) {
    permuted.push_back(view[static_cast<std::size_t>(p)]);
    input_strides.push_back(strides[static_cast<std::size_t>(p)]);
  }
  auto copy = std::make_shared<const StridedCopy>(permuted, input_strides, 0, data_type_size((*x)->dtype));
  return make_kernel({output((*x)->dtype, {n, c * b * b, h, w})}, [copy](const RunContext& run) -> Status {
    copy->run(run.inputs[0], run.outputs[0]);
    return {};
  });
}

}  // namespace cloister::engine

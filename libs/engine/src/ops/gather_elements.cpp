// GatherElements: out[i][j][k] = data[index[i][j][k]][j][k] (along `axis`); indices checked.
#include "ops/common.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_gather_elements(NodeContext& context) {
  auto data = context.required_input(0);
  if (!data) return std::unexpected(data.error());
  auto indices = context.required_input(1);
  if (!indices) return std::unexpected(indices.error());
  const DataType index_type = (*indices)->dtype;
  if (index_type != DataType::int32 && index_type != DataType::int64) return context.unsupported_type(index_type);
  const Shape& ds = (*data)->shape;
  const Shape& is = (*indices)->shape;
  if (ds.size() != is.size() || ds.empty()) return context.invalid("data and indices must have the same rank (1 or more)");
  auto axis_attribute = context.attribute_int("axis", 0);
  if (!axis_attribute) return std::unexpected(axis_attribute.error());
  auto axis = context.axis(*axis_attribute, ds.size());
  if (!axis) return std::unexpected(axis.error());
  const auto a = static_cast<std::size_t>(*axis);
  for (std::size_t d = 0; d < ds.size(); ++d) {
    if (d != a && is[d] > ds[d]) return context.invalid("indices shape exceeds the data shape off the axis");
  }
  const auto data_strides = strides_of(ds);
  const std::size_t size = data_type_size((*data)->dtype);
  return make_kernel({output((*data)->dtype, is)}, [=](const RunContext& run) -> Status {
    const auto* src = static_cast<const std::byte*>(run.inputs[0]);
    auto* dst = static_cast<std::byte*>(run.outputs[0]);
    const std::int64_t count = shape_element_count(is);
    std::vector<std::int64_t> coordinate(is.size(), 0);
    const auto n = static_cast<std::int64_t>(size);
    for (std::int64_t e = 0; e < count; ++e) {
      std::int64_t index = load_as_int(index_type, run.inputs[1], e);
      if (index < -ds[a] || index >= ds[a]) return fail(ErrorCode::engine_input_invalid, "index " + std::to_string(index) + " is out of range");
      if (index < 0) index += ds[a];
      std::int64_t offset = 0;
      for (std::size_t d = 0; d < is.size(); ++d) offset += (d == a ? index : coordinate[d]) * data_strides[d];
      std::memcpy(dst + e * n, src + offset * n, size);
      for (std::size_t d = is.size(); d-- > 0;) {
        if (++coordinate[d] < is[d]) break;
        coordinate[d] = 0;
      }
    }
    return {};
  });
}

}  // namespace cloister::engine

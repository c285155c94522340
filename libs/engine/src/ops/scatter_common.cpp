#include "ops/scatter_common.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> scatter_elements_kernel(NodeContext& context) {
  auto data = context.required_input(0);
  if (!data) return std::unexpected(data.error());
  auto indices = context.required_input(1);
  if (!indices) return std::unexpected(indices.error());
  auto updates = context.required_input(2);
  if (!updates) return std::unexpected(updates.error());
  const DataType type = (*data)->dtype, index_type = (*indices)->dtype;
  if (index_type != DataType::int32 && index_type != DataType::int64) return context.unsupported_type(index_type);
  if ((*updates)->dtype != type) return context.invalid("updates must have the data's type");
  const Shape& ds = (*data)->shape;
  const Shape& is = (*indices)->shape;
  if ((*updates)->shape != is) return context.invalid("updates must have the indices' shape");
  if (ds.size() != is.size() || ds.empty()) return context.invalid("data and indices must have the same rank");
  auto axis_attribute = context.attribute_int("axis", 0);
  if (!axis_attribute) return std::unexpected(axis_attribute.error());
  auto axis = context.axis(*axis_attribute, ds.size());
  if (!axis) return std::unexpected(axis.error());
  auto reduction_attribute = context.attribute_string("reduction", "none");
  if (!reduction_attribute) return std::unexpected(reduction_attribute.error());
  const std::string reduction = *reduction_attribute;
  if (reduction != "none" && reduction != "add" && reduction != "mul" && reduction != "max" && reduction != "min") {
    return context.invalid("reduction '" + reduction + "' is not valid");
  }
  const auto a = static_cast<std::size_t>(*axis);
  for (std::size_t d = 0; d < ds.size(); ++d) {
    if (d != a && is[d] > ds[d]) return context.invalid("indices shape exceeds the data shape off the axis");
  }
  const auto data_strides = strides_of(ds);
  const std::size_t bytes = (*data)->storage_bytes();
  Result<std::unique_ptr<Kernel>> kernel = context.unsupported_type(type);
  dispatch_type(type, [&]<class T>() {
    if constexpr (!std::is_same_v<T, bool>) {
      kernel = make_kernel({output(type, ds)}, [=](const RunContext& run) -> Status {
        copy_if_needed(run.outputs[0], run.inputs[0], bytes);
        T* dst = run.out<T>(0);
        const T* values = run.in<T>(2);
        const std::int64_t count = shape_element_count(is);
        std::vector<std::int64_t> coordinate(is.size(), 0);
        for (std::int64_t e = 0; e < count; ++e) {
          std::int64_t index = load_as_int(index_type, run.inputs[1], e);
          if (index < -ds[a] || index >= ds[a]) return fail(ErrorCode::engine_input_invalid, "index " + std::to_string(index) + " is out of range");
          if (index < 0) index += ds[a];
          std::int64_t offset = 0;
          for (std::size_t d = 0; d < is.size(); ++d) offset += (d == a ? index : coordinate[d]) * data_strides[d];
          scatter_reduce(dst[offset], values[e], reduction);
          for (std::size_t d = is.size(); d-- > 0;) {
            if (++coordinate[d] < is[d]) break;
            coordinate[d] = 0;
          }
        }
        return {};
      });
    }
  });
  return kernel;
}

}  // namespace cloister::engine

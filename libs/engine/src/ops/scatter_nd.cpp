// ScatterND: data with update slices written at index tuples (optional reduction).
#include "ops/operators.h"
#include "ops/scatter_common.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_scatter_nd(NodeContext& context) {
  auto data = context.required_input(0);
  if (!data) return std::unexpected(data.error());
  auto indices = context.required_input(1);
  if (!indices) return std::unexpected(indices.error());
  auto updates = context.required_input(2);
  if (!updates) return std::unexpected(updates.error());
  const DataType type = (*data)->dtype;
  if ((*indices)->dtype != DataType::int64) return context.unsupported_type((*indices)->dtype);
  if ((*updates)->dtype != type) return context.invalid("updates must have the data's type");
  const Shape& ds = (*data)->shape;
  const Shape& is = (*indices)->shape;
  if (is.empty()) return context.invalid("indices must have rank 1 or more");
  const auto k = static_cast<std::size_t>(is.back());
  if (k > ds.size() || k == 0) return context.invalid("the last indices dimension exceeds the data rank");
  Shape expected(is.begin(), is.end() - 1);
  expected.insert(expected.end(), ds.begin() + static_cast<std::ptrdiff_t>(k), ds.end());
  if ((*updates)->shape != expected) return context.invalid("updates shape must be " + shape_to_string(expected));
  auto reduction_attribute = context.attribute_string("reduction", "none");
  if (!reduction_attribute) return std::unexpected(reduction_attribute.error());
  const std::string reduction = *reduction_attribute;
  const auto strides = strides_of(ds);
  const std::int64_t tuples = product(is, 0, is.size() - 1);
  const std::int64_t slice = product(ds, k, ds.size());
  const std::size_t bytes = (*data)->storage_bytes();
  Result<std::unique_ptr<Kernel>> kernel = context.unsupported_type(type);
  dispatch_type(type, [&]<class T>() {
    if constexpr (!std::is_same_v<T, bool>) {
      kernel = make_kernel({output(type, ds)}, [=](const RunContext& run) -> Status {
        copy_if_needed(run.outputs[0], run.inputs[0], bytes);
        T* dst = run.out<T>(0);
        const auto* index = run.in<std::int64_t>(1);
        const T* values = run.in<T>(2);
        for (std::int64_t t = 0; t < tuples; ++t) {
          std::int64_t offset = 0;
          for (std::size_t d = 0; d < k; ++d) {
            std::int64_t i = index[t * static_cast<std::int64_t>(k) + static_cast<std::int64_t>(d)];
            if (i < -ds[d] || i >= ds[d]) return fail(ErrorCode::engine_input_invalid, "index " + std::to_string(i) + " is out of range");
            if (i < 0) i += ds[d];
            offset += i * strides[d];
          }
          for (std::int64_t e = 0; e < slice; ++e) scatter_reduce(dst[offset + e], values[t * slice + e], reduction);
        }
        return {};
      });
    }
  });
  return kernel;
}

}  // namespace cloister::engine

// GatherND: slices of the data at index tuples (with batch_dims).
#include "ops/common.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_gather_nd(NodeContext& context) {
  auto data = context.required_input(0);
  if (!data) return std::unexpected(data.error());
  auto indices = context.required_input(1);
  if (!indices) return std::unexpected(indices.error());
  if ((*indices)->dtype != DataType::int64) return context.unsupported_type((*indices)->dtype);
  const Shape& ds = (*data)->shape;
  const Shape& is = (*indices)->shape;
  auto batch_attribute = context.attribute_int("batch_dims", 0);
  if (!batch_attribute) return std::unexpected(batch_attribute.error());
  const auto b = static_cast<std::size_t>(*batch_attribute);
  if (is.empty() || ds.empty() || b >= std::min(ds.size(), is.size())) return context.invalid("batch_dims is out of range");
  for (std::size_t i = 0; i < b; ++i) {
    if (ds[i] != is[i]) return context.invalid("batch dimensions of data and indices differ");
  }
  const auto k = static_cast<std::size_t>(is.back());
  if (k < 1 || b + k > ds.size()) return context.invalid("the last indices dimension is out of range");
  Shape out(is.begin(), is.end() - 1);
  out.insert(out.end(), ds.begin() + static_cast<std::ptrdiff_t>(b + k), ds.end());
  const std::int64_t batches = product(ds, 0, b);
  const std::int64_t tuples = product(is, b, is.size() - 1);
  const std::int64_t slice = product(ds, b + k, ds.size());
  const std::int64_t batch_stride = product(ds, b, ds.size());
  const auto strides = strides_of(ds);
  const std::size_t size = data_type_size((*data)->dtype);
  return make_kernel({output((*data)->dtype, out)}, [=](const RunContext& run) -> Status {
    const auto* src = static_cast<const std::byte*>(run.inputs[0]);
    const auto* index = run.in<std::int64_t>(1);
    auto* dst = static_cast<std::byte*>(run.outputs[0]);
    const auto n = static_cast<std::int64_t>(size);
    for (std::int64_t batch = 0; batch < batches; ++batch) {
      for (std::int64_t t = 0; t < tuples; ++t) {
        std::int64_t offset = batch * batch_stride;
        for (std::size_t d = 0; d < k; ++d) {
          std::int64_t i = index[(batch * tuples + t) * static_cast<std::int64_t>(k) + static_cast<std::int64_t>(d)];
          const std::int64_t dim = ds[b + d];
          if (i < -dim || i >= dim) return fail(ErrorCode::engine_input_invalid, "index " + std::to_string(i) + " is out of range");
          if (i < 0) i += dim;
          offset += i * strides[b + d];
        }
        if (slice) std::memcpy(dst + (batch * tuples + t) * slice * n, src + offset * n, static_cast<std::size_t>(slice * n));
      }
    }
    return {};
  });
}

}  // namespace cloister::engine

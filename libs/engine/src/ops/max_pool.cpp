// MaxPool (1D/2D/3D, pads / auto_pad, ceil_mode, dilations) on oneDNN; with the Indices output
// a plain C++ kernel computes the flattened argmax indices (storage_order 0 or 1).
#include "ops/operators.h"
#include "ops/pooling.h"

#include <limits>

namespace cloister::engine {

namespace {

Result<std::unique_ptr<Kernel>> make_max_pool_with_indices(NodeContext& context, const ValueInfo& x, SpatialGeometry geometry) {
  if (x.dtype != DataType::float32) return context.unsupported_type(x.dtype);
  auto storage_order = context.attribute_int("storage_order", 0);
  if (!storage_order) return std::unexpected(storage_order.error());
  const Shape in = x.shape;
  Shape out{in[0], in[1]};
  out.insert(out.end(), geometry.output.begin(), geometry.output.end());
  const bool column_major = *storage_order == 1;
  return make_kernel({output(DataType::float32, out), output(DataType::int64, out)},
                     [in, out, geometry, column_major](const RunContext& run) -> Status {
                       const float* src = run.in<float>(0);
                       float* values = run.out<float>(0);
                       auto* indices = run.out<std::int64_t>(1);
                       const std::size_t n = in.size() - 2;
                       const std::int64_t planes = in[0] * in[1];
                       const std::int64_t in_plane = product(in, 2, in.size());
                       const std::int64_t out_plane = product(out, 2, out.size());
                       const auto in_strides = strides_of(in);
                       for (std::int64_t p = 0; p < planes; ++p) {
                         for (std::int64_t o = 0; o < out_plane; ++o) {
                           std::vector<std::int64_t> position(n);
                           std::int64_t rest = o;
                           for (std::size_t d = n; d-- > 0;) {
                             position[d] = rest % out[2 + d];
                             rest /= out[2 + d];
                           }
                           float best = -std::numeric_limits<float>::infinity();
                           std::int64_t best_index = -1;
                           std::vector<std::int64_t> k(n, 0);
                           const std::int64_t window = product(geometry.kernel, 0, n);
                           for (std::int64_t w = 0; w < window; ++w) {
                             std::int64_t r = w;
                             bool inside = true;
                             std::int64_t offset = 0, column = 0, column_stride = 1;
                             std::vector<std::int64_t> coordinate(n);
                             for (std::size_t d = n; d-- > 0;) {
                               k[d] = r % geometry.kernel[d];
                               r /= geometry.kernel[d];
                               coordinate[d] = position[d] * geometry.strides[d] - geometry.pad_begin[d] + k[d] * geometry.dilations[d];
                               if (coordinate[d] < 0 || coordinate[d] >= in[2 + d]) inside = false;
                             }
                             if (!inside) continue;
                             for (std::size_t d = 0; d < n; ++d) offset += coordinate[d] * in_strides[2 + d];
                             for (std::size_t d = 0; d < n; ++d) {
                               column += coordinate[d] * column_stride;
                               column_stride *= in[2 + d];
                             }
                             float value = src[p * in_plane + offset];
                             if (best_index < 0 || value > best) {
                               best = value;
                               best_index = p * in_plane + (column_major ? column : offset);
                             }
                           }
                           values[p * out_plane + o] = best;
                           indices[p * out_plane + o] = best_index;
                         }
                       }
                       return {};
                     });
}

}  // namespace

Result<std::unique_ptr<Kernel>> make_max_pool(NodeContext& context) {
  auto x = context.required_input(0);
  if (!x) return std::unexpected(x.error());
  auto geometry = pool_geometry(context, **x, true);
  if (!geometry) return std::unexpected(geometry.error());
  if (context.has_output(1)) return make_max_pool_with_indices(context, **x, std::move(*geometry));
  auto kernel = make_pool_kernel(context, **x, PoolKind::max, std::move(*geometry));
  if (kernel && context.output_count() > 1) (*kernel)->outputs.push_back(output(DataType::int64, {}));
  return kernel;
}

}  // namespace cloister::engine

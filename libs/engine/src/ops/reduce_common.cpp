#include "ops/reduce_common.h"

#include <cmath>
#include <limits>

namespace cloister::engine {

namespace {

struct ReduceGeometry {
  std::vector<std::int64_t> kept_dims, kept_strides;        // output order
  std::vector<std::int64_t> reduced_dims, reduced_strides;  // input strides
  std::int64_t outputs = 1;
  std::int64_t reduced = 1;
};

template <class T, class Acc>
void reduce_all(const T* x, T* y, const ReduceGeometry& g, ReduceKind kind) {
  parallel_for(g.outputs, g.reduced, [&](std::int64_t o) {
    std::int64_t base = 0, rest = o;
    for (std::size_t i = g.kept_dims.size(); i-- > 0;) {
      base += (rest % g.kept_dims[i]) * g.kept_strides[i];
      rest /= g.kept_dims[i];
    }
    std::vector<std::int64_t> counter(g.reduced_dims.size(), 0);
    auto for_each = [&](auto&& f) {
      std::fill(counter.begin(), counter.end(), 0);
      std::int64_t offset = base;
      for (std::int64_t r = 0; r < g.reduced; ++r) {
        f(x[offset]);
        for (std::size_t i = g.reduced_dims.size(); i-- > 0;) {
          offset += g.reduced_strides[i];
          if (++counter[i] < g.reduced_dims[i]) break;
          offset -= g.reduced_strides[i] * g.reduced_dims[i];
          counter[i] = 0;
        }
      }
    };
    Acc acc{};
    switch (kind) {
      case ReduceKind::sum:
      case ReduceKind::mean:
      case ReduceKind::log_sum:
        acc = Acc(0);
        for_each([&](T v) { acc += static_cast<Acc>(v); });
        break;
      case ReduceKind::l1:
        acc = Acc(0);
        for_each([&](T v) { acc += static_cast<Acc>(v < T(0) ? -v : v); });
        break;
      case ReduceKind::l2:
      case ReduceKind::sum_square:
        acc = Acc(0);
        for_each([&](T v) { acc += static_cast<Acc>(v) * static_cast<Acc>(v); });
        break;
      case ReduceKind::prod:
        acc = Acc(1);
        for_each([&](T v) { acc *= static_cast<Acc>(v); });
        break;
      case ReduceKind::max:
        acc = static_cast<Acc>(std::numeric_limits<T>::lowest());
        if constexpr (std::is_floating_point_v<T>) acc = -std::numeric_limits<Acc>::infinity();
        for_each([&](T v) { acc = static_cast<Acc>(v) > acc ? static_cast<Acc>(v) : acc; });
        break;
      case ReduceKind::min:
        acc = static_cast<Acc>(std::numeric_limits<T>::max());
        if constexpr (std::is_floating_point_v<T>) acc = std::numeric_limits<Acc>::infinity();
        for_each([&](T v) { acc = static_cast<Acc>(v) < acc ? static_cast<Acc>(v) : acc; });
        break;
      case ReduceKind::log_sum_exp: {
        Acc max = -std::numeric_limits<Acc>::infinity();
        for_each([&](T v) { max = std::max(max, static_cast<Acc>(v)); });
        if constexpr (std::is_floating_point_v<Acc>) {
          Acc sum = 0;
          for_each([&](T v) { sum += std::exp(static_cast<Acc>(v) - max); });
          acc = std::isinf(max) ? max : std::log(sum) + max;
        }
        break;
      }
    }
    if (kind == ReduceKind::mean && g.reduced > 0) acc = acc / static_cast<Acc>(g.reduced);
    if constexpr (std::is_floating_point_v<Acc>) {
      if (kind == ReduceKind::l2) acc = std::sqrt(acc);
      if (kind == ReduceKind::log_sum) acc = std::log(acc);
    }
    y[o] = static_cast<T>(acc);
  });
}

}  // namespace

Result<std::unique_ptr<Kernel>> make_reduce(NodeContext& context, ReduceKind kind) {
  auto x = context.required_input(0);
  if (!x) return std::unexpected(x.error());
  const DataType type = (*x)->dtype;
  const bool float_only = kind == ReduceKind::l2 || kind == ReduceKind::log_sum || kind == ReduceKind::log_sum_exp;
  if (!(is_float(type) || (is_numeric(type) && !float_only))) return context.unsupported_type(type);
  const Shape& shape = (*x)->shape;
  const int axes_input_opset = kind == ReduceKind::sum ? 13 : 18;
  std::vector<std::int64_t> axes;
  if (context.opset() < axes_input_opset) {
    auto attribute = context.attribute_ints("axes");
    if (!attribute) return std::unexpected(attribute.error());
    axes = *attribute;
  } else if (context.has_input(1)) {
    auto values = context.constant_ints(1);
    if (!values) return std::unexpected(values.error());
    axes = *values;
  }
  auto keepdims = context.attribute_int("keepdims", 1);
  if (!keepdims) return std::unexpected(keepdims.error());
  auto noop = context.attribute_int("noop_with_empty_axes", 0);
  if (!noop) return std::unexpected(noop.error());
  if (axes.empty() && *noop) return make_alias_kernel(**x, shape);
  std::vector<bool> reduce(shape.size(), axes.empty());
  for (auto value : axes) {
    auto axis = context.axis(value, shape.size());
    if (!axis) return std::unexpected(axis.error());
    reduce[static_cast<std::size_t>(*axis)] = true;
  }
  const auto strides = strides_of(shape);
  ReduceGeometry geometry;
  Shape result;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (reduce[i]) {
      if (*keepdims) result.push_back(1);
      if (shape[i] != 1) {
        geometry.reduced_dims.push_back(shape[i]);
        geometry.reduced_strides.push_back(strides[i]);
      }
      geometry.reduced *= shape[i];
    } else {
      result.push_back(shape[i]);
      if (shape[i] != 1) {
        geometry.kept_dims.push_back(shape[i]);
        geometry.kept_strides.push_back(strides[i]);
      }
      geometry.outputs *= shape[i];
    }
  }
  if (geometry.reduced == 0 && (kind == ReduceKind::max || kind == ReduceKind::min)) {
    return context.invalid("cannot reduce an empty set with max or min");
  }
  Result<std::unique_ptr<Kernel>> result_kernel = context.unsupported_type(type);
  dispatch_type(type, [&]<class T>() {
    if constexpr (!std::is_same_v<T, bool>) {
      using Acc = std::conditional_t<std::is_floating_point_v<T>, double,
                                     std::conditional_t<std::is_signed_v<T>, std::int64_t, std::uint64_t>>;
      result_kernel = make_kernel({output(type, result)}, [geometry, kind](const RunContext& run) -> Status {
        reduce_all<T, Acc>(run.in<T>(0), run.out<T>(0), geometry, kind);
        return {};
      });
    }
  });
  return result_kernel;
}

}  // namespace cloister::engine

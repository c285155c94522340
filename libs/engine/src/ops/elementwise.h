#pragma once
// Elementwise operator families: unary maps and (broadcasting) binary / variadic operators.
// Each operator file instantiates one of these with its scalar function.

#include "ops/common.h"

#include <cmath>
#include <limits>
#include <type_traits>

namespace cloister::engine {

// Type sets (template parameters so unsupported instantiations are never compiled).
inline constexpr unsigned kFloatTypes = 1;
inline constexpr unsigned kSignedTypes = 2;
inline constexpr unsigned kUnsignedTypes = 4;
inline constexpr unsigned kBoolType = 8;
inline constexpr unsigned kIntegerTypes = kSignedTypes | kUnsignedTypes;
inline constexpr unsigned kNumericTypes = kFloatTypes | kIntegerTypes;
inline constexpr unsigned kAllTypes = kNumericTypes | kBoolType;

template <class T, unsigned Types>
constexpr bool type_in_set() {
  if constexpr (std::is_same_v<T, bool>) return (Types & kBoolType) != 0;
  else if constexpr (std::is_floating_point_v<T>) return (Types & kFloatTypes) != 0;
  else if constexpr (std::is_signed_v<T>) return (Types & kSignedTypes) != 0;
  else return (Types & kUnsignedTypes) != 0;
}

inline constexpr std::int64_t kElementwiseBlock = 16384;

// Integer arithmetic that wraps (as ONNX Runtime and NumPy do) instead of overflowing.
template <class T>
T wrap_add(T a, T b) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(static_cast<U>(a) + static_cast<U>(b)));
  } else {
    return static_cast<T>(a + b);
  }
}
template <class T>
T wrap_sub(T a, T b) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(static_cast<U>(a) - static_cast<U>(b)));
  } else {
    return static_cast<T>(a - b);
  }
}
template <class T>
T wrap_mul(T a, T b) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    using U = std::make_unsigned_t<T>;
    using Wide = std::conditional_t<(sizeof(U) < sizeof(unsigned)), unsigned, U>;
    return static_cast<T>(static_cast<U>(static_cast<Wide>(static_cast<U>(a)) * static_cast<Wide>(static_cast<U>(b))));
  } else {
    return static_cast<T>(a * b);
  }
}

// y = op(x), same type (or bool when BoolOutput).
template <unsigned Types, bool BoolOutput = false, class Op>
Result<std::unique_ptr<Kernel>> make_unary(NodeContext& context, Op op) {
  auto x = context.required_input(0);
  if (!x) return std::unexpected(x.error());
  const DataType type = (*x)->dtype;
  const Shape shape = (*x)->shape;
  const std::int64_t count = (*x)->elements();
  Result<std::unique_ptr<Kernel>> result = context.unsupported_type(type);
  dispatch_type(type, [&]<class T>() {
    if constexpr (type_in_set<T, Types>()) {
      using Out = std::conditional_t<BoolOutput, bool, T>;
      result = make_kernel({output(BoolOutput ? DataType::boolean : type, shape)}, [count, op](const RunContext& run) -> Status {
        const T* in = run.in<T>(0);
        Out* out = run.out<Out>(0);
        const std::int64_t blocks = (count + kElementwiseBlock - 1) / kElementwiseBlock;
        parallel_for(blocks, kElementwiseBlock, [&](std::int64_t block) {
          const std::int64_t begin = block * kElementwiseBlock;
          const std::int64_t end = std::min(count, begin + kElementwiseBlock);
          for (std::int64_t i = begin; i < end; ++i) out[i] = static_cast<Out>(op(in[i]));
        });
        return {};
      });
    }
  });
  return result;
}

enum class BinaryOutput { same, boolean };

// z = op(a, b) with broadcasting; both inputs of one type.
template <unsigned Types, BinaryOutput OutputKind = BinaryOutput::same, class Op>
Result<std::unique_ptr<Kernel>> make_binary(NodeContext& context, Op op) {
  if (context.opset() < 7 && context.has_attribute("broadcast")) {
    auto legacy = context.attribute_int("broadcast", 0);
    if (!legacy) return std::unexpected(legacy.error());
    if (*legacy != 0) return context.unsupported("legacy broadcasting (opset < 7 'broadcast' attribute) is not supported");
  }
  auto a = context.required_input(0);
  if (!a) return std::unexpected(a.error());
  auto b = context.required_input(1);
  if (!b) return std::unexpected(b.error());
  const DataType type = (*a)->dtype;
  if ((*b)->dtype != type) {
    return context.invalid("input types differ (" + std::string(data_type_name(type)) + " and " +
                           std::string(data_type_name((*b)->dtype)) + ")");
  }
  auto shape = broadcast_shapes(context, (*a)->shape, (*b)->shape);
  if (!shape) return std::unexpected(shape.error());
  const Shape* inputs[] = {&(*a)->shape, &(*b)->shape};
  auto loop = std::make_shared<const BroadcastLoop>(*shape, inputs);
  Result<std::unique_ptr<Kernel>> result = context.unsupported_type(type);
  dispatch_type(type, [&]<class T>() {
    if constexpr (type_in_set<T, Types>()) {
      using Out = std::conditional_t<OutputKind == BinaryOutput::boolean, bool, T>;
      const DataType out_type = OutputKind == BinaryOutput::boolean ? DataType::boolean : type;
      result = make_kernel({output(out_type, *shape)}, [loop, op](const RunContext& run) -> Status {
        const T* x = run.in<T>(0);
        const T* y = run.in<T>(1);
        Out* z = run.out<Out>(0);
        const std::int64_t inner = loop->inner();
        const std::int64_t sx = loop->inner_stride(0);
        const std::int64_t sy = loop->inner_stride(1);
        auto body = [&](std::int64_t index) {
          const T* px = x + loop->input_offset(0, index);
          const T* py = y + loop->input_offset(1, index);
          Out* pz = z + index * inner;
          if (sx == 1 && sy == 1) {
            for (std::int64_t i = 0; i < inner; ++i) pz[i] = static_cast<Out>(op(px[i], py[i]));
          } else if (sx == 1 && sy == 0) {
            const T v = *py;
            for (std::int64_t i = 0; i < inner; ++i) pz[i] = static_cast<Out>(op(px[i], v));
          } else if (sx == 0 && sy == 1) {
            const T v = *px;
            for (std::int64_t i = 0; i < inner; ++i) pz[i] = static_cast<Out>(op(v, py[i]));
          } else {
            for (std::int64_t i = 0; i < inner; ++i) pz[i] = static_cast<Out>(op(px[i * sx], py[i * sy]));
          }
        };
        parallel_for(loop->outer(), inner, body);
        return {};
      });
    }
  });
  return result;
}

// y = op(...op(op(x0, x1), x2)...) with broadcasting of all inputs (Sum, Max, Min, Mean).
template <unsigned Types, class Op>
Result<std::unique_ptr<Kernel>> make_variadic(NodeContext& context, Op op, bool mean = false) {
  if (context.input_count() == 0) return context.invalid("at least one input is required");
  std::vector<const Shape*> shapes;
  DataType type = DataType::float32;
  for (std::size_t i = 0; i < context.input_count(); ++i) {
    auto input = context.required_input(i);
    if (!input) return std::unexpected(input.error());
    if (i == 0) type = (*input)->dtype;
    if ((*input)->dtype != type) return context.invalid("input types differ");
    shapes.push_back(&(*input)->shape);
  }
  auto shape = broadcast_shapes(context, shapes);
  if (!shape) return std::unexpected(shape.error());
  std::vector<std::shared_ptr<const BroadcastLoop>> loops;
  for (const Shape* input_shape : shapes) {
    const Shape* pair[] = {&*shape, input_shape};
    loops.push_back(std::make_shared<const BroadcastLoop>(*shape, pair));
  }
  const std::int64_t count = shape_element_count(*shape);
  Result<std::unique_ptr<Kernel>> result = context.unsupported_type(type);
  dispatch_type(type, [&]<class T>() {
    if constexpr (type_in_set<T, Types>()) {
      result = make_kernel({output(type, *shape)}, [loops, op, count, mean](const RunContext& run) -> Status {
        T* z = run.out<T>(0);
        for (std::size_t k = 0; k < loops.size(); ++k) {
          const auto& loop = *loops[k];
          const T* x = run.in<T>(k);
          const std::int64_t inner = loop.inner();
          const std::int64_t sx = loop.inner_stride(1);
          parallel_for(loop.outer(), inner, [&](std::int64_t index) {
            const T* px = x + loop.input_offset(1, index);
            T* pz = z + index * inner;
            if (k == 0) {
              for (std::int64_t i = 0; i < inner; ++i) pz[i] = px[i * sx];
            } else {
              for (std::int64_t i = 0; i < inner; ++i) pz[i] = static_cast<T>(op(pz[i], px[i * sx]));
            }
          });
        }
        if (mean) {
          const T n = static_cast<T>(loops.size());
          for (std::int64_t i = 0; i < count; ++i) z[i] = static_cast<T>(z[i] / n);
        }
        return {};
      });
    }
  });
  return result;
}

}  // namespace cloister::engine

#include "ops/cast_common.h"

#include <bit>
#include <cmath>
#include <limits>

namespace cloister::engine {

float half_to_float(std::uint16_t half) {
  const std::uint32_t sign = static_cast<std::uint32_t>(half & 0x8000u) << 16;
  std::uint32_t exponent = (half >> 10) & 0x1fu;
  std::uint32_t mantissa = half & 0x3ffu;
  std::uint32_t bits;
  if (exponent == 0) {
    if (mantissa == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      exponent = 127 - 15 + 1;
      while ((mantissa & 0x400u) == 0) {
        mantissa <<= 1;
        --exponent;
      }
      mantissa &= 0x3ffu;
      bits = sign | (exponent << 23) | (mantissa << 13);
    }
  } else if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else {
    bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  }
  return std::bit_cast<float>(bits);
}

std::uint16_t float_to_half(float value) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  const std::uint16_t sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000u);
  const std::uint32_t magnitude = bits & 0x7fffffffu;
  if (magnitude >= 0x7f800000u) {  // inf or NaN
    return static_cast<std::uint16_t>(sign | 0x7c00u | (magnitude > 0x7f800000u ? 0x200u : 0u));
  }
  if (magnitude >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // rounds to inf
  if (magnitude < 0x38800000u) {  // subnormal half (or zero)
    if (magnitude < 0x33000000u) return sign;
    const std::uint32_t exponent = magnitude >> 23;
    const std::uint32_t mantissa = (magnitude & 0x7fffffu) | 0x800000u;
    const std::uint32_t shift = 126 - exponent;  // 14 - (exponent - 127) + 13 - 1
    std::uint32_t result = mantissa >> (shift + 1);
    const std::uint32_t remainder = mantissa & ((1u << (shift + 1)) - 1);
    const std::uint32_t halfway = 1u << shift;
    if (remainder > halfway || (remainder == halfway && (result & 1u))) ++result;
    return static_cast<std::uint16_t>(sign | result);
  }
  std::uint32_t result = ((magnitude >> 13) - ((127 - 15) << 10));
  const std::uint32_t remainder = magnitude & 0x1fffu;
  if (remainder > 0x1000u || (remainder == 0x1000u && (result & 1u))) ++result;
  return static_cast<std::uint16_t>(sign | result);
}

float bfloat_to_float(std::uint16_t bfloat) { return std::bit_cast<float>(static_cast<std::uint32_t>(bfloat) << 16); }

std::uint16_t float_to_bfloat(float value) {
  std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  if (std::isnan(value)) return static_cast<std::uint16_t>((bits >> 16) | 0x40u);
  bits += 0x7fffu + ((bits >> 16) & 1u);  // round to nearest even
  return static_cast<std::uint16_t>(bits >> 16);
}

namespace {

template <class To, class From>
To convert(From value) {
  if constexpr (std::is_same_v<To, bool>) {
    return value != From(0);
  } else if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>) {
    if (std::isnan(value)) return To(0);
    if (value <= static_cast<From>(std::numeric_limits<To>::lowest())) return std::numeric_limits<To>::lowest();
    if (value >= static_cast<From>(std::numeric_limits<To>::max())) return std::numeric_limits<To>::max();
    return static_cast<To>(value);
  } else {
    return static_cast<To>(value);
  }
}

// Reads element i of any supported type as float (for float16/bfloat16 targets) or writes one.
template <class T>
void cast_to_type(DataType source, const void* input, T* out, std::int64_t count) {
  if (source == DataType::float16 || source == DataType::bfloat16) {
    const auto* in = static_cast<const std::uint16_t*>(input);
    for (std::int64_t i = 0; i < count; ++i) {
      float value = source == DataType::float16 ? half_to_float(in[i]) : bfloat_to_float(in[i]);
      out[i] = convert<T>(value);
    }
    return;
  }
  dispatch_type(source, [&]<class From>() {
    const From* in = static_cast<const From*>(input);
    for (std::int64_t i = 0; i < count; ++i) out[i] = convert<T>(in[i]);
  });
}

}  // namespace

Result<std::unique_ptr<Kernel>> make_cast_kernel(NodeContext& context, DataType target) {
  auto x = context.required_input(0);
  if (!x) return std::unexpected(x.error());
  const DataType source = (*x)->dtype;
  const std::int64_t count = (*x)->elements();
  const Shape shape = (*x)->shape;
  if (source == target) return make_alias_kernel(**x, shape);
  if (target == DataType::float16 || target == DataType::bfloat16) {
    return make_kernel({output(target, shape)}, [source, target, count](const RunContext& run) -> Status {
      std::vector<float> values(static_cast<std::size_t>(count));
      cast_to_type<float>(source, run.inputs[0], values.data(), count);
      auto* out = static_cast<std::uint16_t*>(run.outputs[0]);
      for (std::int64_t i = 0; i < count; ++i) {
        out[i] = target == DataType::float16 ? float_to_half(values[static_cast<std::size_t>(i)])
                                             : float_to_bfloat(values[static_cast<std::size_t>(i)]);
      }
      return {};
    });
  }
  Result<std::unique_ptr<Kernel>> result = context.unsupported_type(target);
  dispatch_type(target, [&]<class T>() {
    result = make_kernel({output(target, shape)}, [source, count](const RunContext& run) -> Status {
      cast_to_type<T>(source, run.inputs[0], static_cast<T*>(run.outputs[0]), count);
      return {};
    });
  });
  return result;
}

}  // namespace cloister::engine

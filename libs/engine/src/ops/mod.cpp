// Mod: remainder with broadcasting. fmod=1: C fmod (sign of the dividend); fmod=0 (integers):
// Python modulo (sign of the divisor). A zero divisor gives 0 for integers.
#include "ops/elementwise.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_mod(NodeContext& context) {
  auto fmod_attribute = context.attribute_int("fmod", 0);
  if (!fmod_attribute) return std::unexpected(fmod_attribute.error());
  const bool c_fmod = *fmod_attribute != 0;
  if (!c_fmod && context.has_input(0) && is_float(context.input(0)->dtype)) {
    return context.invalid("fmod must be 1 for floating-point inputs");
  }
  return make_binary<kNumericTypes>(context, [c_fmod](auto a, auto b) {
    using T [[maybe_unused]] = decltype(a);
    if constexpr (std::is_floating_point_v<T>) {
      return std::fmod(a, b);
    } else {
      if (b == T(0)) return T(0);
      if constexpr (std::is_signed_v<T>) {
        if (b == T(-1)) return T(0);
        T r = static_cast<T>(a % b);
        if (!c_fmod && r != 0 && ((r < 0) != (b < 0))) r = static_cast<T>(r + b);
        return r;
      } else {
        return static_cast<T>(a % b);
      }
    }
  });
}

}  // namespace cloister::engine

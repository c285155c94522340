// BitShift: a << b or a >> b (direction attribute) on unsigned integers; shifts of the full
// width or more give 0.
#include "ops/elementwise.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_bit_shift(NodeContext& context) {
  auto direction = context.attribute_string("direction", "");
  if (!direction) return std::unexpected(direction.error());
  if (*direction != "LEFT" && *direction != "RIGHT") return context.invalid("direction must be LEFT or RIGHT");
  const bool left = *direction == "LEFT";
  return make_binary<kUnsignedTypes>(context, [left](auto a, auto b) {
    using T [[maybe_unused]] = decltype(a);
    if (b >= static_cast<T>(sizeof(T) * 8)) return T(0);
    return static_cast<T>(left ? a << b : a >> b);
  });
}

}  // namespace cloister::engine

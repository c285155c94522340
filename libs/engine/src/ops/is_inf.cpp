// IsInf: y = x is +inf (detect_positive) or -inf (detect_negative) (bool).
#include "ops/elementwise.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_is_inf(NodeContext& context) {
  auto negative = context.attribute_int("detect_negative", 1);
  if (!negative) return std::unexpected(negative.error());
  auto positive = context.attribute_int("detect_positive", 1);
  if (!positive) return std::unexpected(positive.error());
  const bool detect_negative = *negative != 0;
  const bool detect_positive = *positive != 0;
  return make_unary<kFloatTypes, true>(context, [detect_negative, detect_positive](auto x) {
    return std::isinf(x) && ((x > 0 && detect_positive) || (x < 0 && detect_negative));
  });
}

}  // namespace cloister::engine

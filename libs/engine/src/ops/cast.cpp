// Cast: converts to the `to` type (numeric, bool, float16, bfloat16). Float to integer truncates
// (saturating, NaN to 0); to bool is "not zero".
#include "ops/cast_common.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_cast(NodeContext& context) {
  auto to = context.required_attribute_int("to");
  if (!to) return std::unexpected(to.error());
  DataType target;
  if (!data_type_from_onnx(static_cast<int>(*to), target)) {
    return context.error(ErrorCode::engine_unsupported_data_type, "unsupported target data type " + std::to_string(*to));
  }
  return make_cast_kernel(context, target);
}

}  // namespace cloister::engine

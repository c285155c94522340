// Dropout (inference): y = x; the optional mask is all true. Training mode with a non-zero ratio
// (random) is not supported.
#include "ops/common.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_dropout(NodeContext& context) {
  auto x = context.required_input(0);
  if (!x) return std::unexpected(x.error());
  bool training = false;
  double ratio = 0.5;
  if (context.opset() < 12) {
    auto is_test = context.attribute_int("is_test", 0);
    if (!is_test) return std::unexpected(is_test.error());
    auto ratio_attribute = context.attribute_float("ratio", 0.5f);
    if (!ratio_attribute) return std::unexpected(ratio_attribute.error());
    ratio = *ratio_attribute;
    // Before opset 7 is_test=0 meant training; from 7 on, Dropout is inference-only here.
    training = context.opset() < 7 && *is_test == 0;
  } else {
    if (context.has_input(1)) {
      auto ratio_values = context.constant_floats(1);
      if (!ratio_values) return std::unexpected(ratio_values.error());
      if (ratio_values->size() != 1) return context.invalid("ratio must be a scalar");
      ratio = (*ratio_values)[0];
    }
    if (context.has_input(2)) {
      const ValueInfo* mode = context.input(2);
      if (!mode->constant) return context.needs_constant(2);
      if (mode->dtype != DataType::boolean || mode->constant->element_count() != 1) {
        return context.invalid("training_mode must be a bool scalar");
      }
      training = mode->constant->values<bool>()[0];
    }
  }
  if (training && ratio != 0) return context.unsupported("training mode (random dropout) is not supported");
  OutputSpec y = output((*x)->dtype, (*x)->shape);
  y.alias_input = 0;
  std::vector<OutputSpec> outputs{y};
  if (context.output_count() > 1) outputs.push_back(output(DataType::boolean, (*x)->shape));
  const std::size_t bytes = (*x)->storage_bytes();
  const std::int64_t count = (*x)->elements();
  return make_kernel(outputs, [bytes, count](const RunContext& run) -> Status {
    copy_if_needed(run.outputs[0], run.inputs[0], bytes);
    if (run.outputs.size() > 1 && run.outputs[1]) std::memset(run.outputs[1], 1, static_cast<std::size_t>(count));
    return {};
  });
}

}  // namespace cloister::engine

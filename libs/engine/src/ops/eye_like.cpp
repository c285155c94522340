// EyeLike: a 2D tensor shaped like the input with ones on the k-th diagonal.
#include "ops/common.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_eye_like(NodeContext& context) {
  auto x = context.required_input(0);
  if (!x) return std::unexpected(x.error());
  const Shape& s = (*x)->shape;
  if (s.size() != 2) return context.invalid("input must be 2D");
  auto k_attribute = context.attribute_int("k", 0);
  if (!k_attribute) return std::unexpected(k_attribute.error());
  DataType type = (*x)->dtype;
  if (context.has_attribute("dtype")) {
    auto dtype = context.attribute_int("dtype", 0);
    if (!dtype) return std::unexpected(dtype.error());
    if (!data_type_from_onnx(static_cast<int>(*dtype), type)) return context.error(ErrorCode::engine_unsupported_data_type, "unsupported dtype");
  }
  if (!is_numeric(type) && type != DataType::boolean) return context.unsupported_type(type);
  const std::int64_t k = *k_attribute, rows = s[0], columns = s[1];
  Result<std::unique_ptr<Kernel>> kernel = context.unsupported_type(type);
  dispatch_type(type, [&]<class T>() {
    kernel = make_kernel({output(type, s)}, [=](const RunContext& run) -> Status {
      T* out = run.out<T>(0);
      for (std::int64_t i = 0; i < rows; ++i) {
        for (std::int64_t j = 0; j < columns; ++j) out[i * columns + j] = static_cast<T>(j - i == k ? 1 : 0);
      }
      return {};
    });
  });
  if (kernel) (*kernel)->reads_input_data = false;
  return kernel;
}

}  // namespace cloister::engine

// Size: the input's element count as an int64 scalar; folded at compile time.
#include "ops/common.h"
#include "ops/operators.h"

namespace cloister::engine {

Result<std::unique_ptr<Kernel>> make_size(NodeContext& context) {
  auto x = context.required_input(0);
  if (!x) return std::unexpected(x.error());
  const std::int64_t count = (*x)->elements();
  auto kernel = make_kernel({output(DataType::int64, {})}, [count](const RunContext& run) -> Status {
    *run.out<std::int64_t>(0) = count;
    return {};
  });
  if (kernel) (*kernel)->reads_input_data = false;
  return kernel;
}

}  // namespace cloister::engine

// Fuzzes the engine with untrusted model bytes: protobuf parsing, the ONNX checker and shape
// inference, conversion to the engine's IR, constant folding (kernels run on folded constants),
// graph optimisation, kernel creation, planning and — for models that load — one run on
// deterministic inputs. Any crash, sanitizer report or uncaught exception is a finding; a load or
// run error is the expected outcome for most inputs.
//
// Links cloister::engine (oneDNN, ONNX, protobuf). Good seeds: the ONNX backend node-test models,
// /usr/share/libonnx-testdata/data/node/test_*/model.onnx (Debian libonnx-testdata).
// Limits are small so that a hostile shape cannot make a run slow or exhaust memory.

#include "cloister/engine/session.h"

#include <cstddef>
#include <cstdint>
#include <span>

namespace engine = cloister::engine;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  engine::SessionOptions options;
  options.threads = 1;
  options.warm_up = false;
  options.max_model_bytes = std::size_t{1} << 20;
  options.max_tensor_bytes = std::size_t{1} << 22;
  options.max_arena_bytes = std::size_t{1} << 24;
  options.max_nodes = 256;
  options.max_specializations = 2;
  auto session = engine::Session::load(std::as_bytes(std::span(data, size)), options);
  if (!session) return 0;
  std::vector<engine::NamedTensor> inputs;
  std::size_t total = 0;
  for (const auto& info : (*session)->inputs()) {
    engine::Shape shape = info.shape;
    for (auto& dimension : shape) dimension = dimension < 0 ? 1 : dimension;
    const auto count = engine::shape_element_count(shape);
    if (count < 0) return 0;
    total += static_cast<std::size_t>(count) * engine::data_type_size(info.dtype);
    if (total > (std::size_t{1} << 22)) return 0;
    engine::Tensor tensor(info.dtype, shape);
    // Small deterministic values (valid as indices for small dimensions).
    for (std::size_t i = 0; i < tensor.byte_size(); ++i) tensor.bytes()[i] = static_cast<std::byte>((i * 7) % 3 == 0 ? 1 : 0);
    inputs.push_back(engine::NamedTensor{info.name, std::move(tensor)});
  }
  (void)(*session)->run(inputs);
  return 0;
}

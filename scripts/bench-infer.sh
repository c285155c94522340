#!/usr/bin/env bash
# bench/infer: DenseNet-121 (random weights) at batch 1 through a real cloister-infer — attested caller,
# mutual TLS, sealed bodies, receipts — vs the engine in-process, and throughput with and without
# dynamic batching under concurrent load.
# Usage: scripts/bench-infer.sh [BUILD_DIR] [-- bench options: --threads T --requests N --clients C --seconds S]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build}"
[[ $# -gt 0 ]] && shift
[[ "${1:-}" == "--" ]] && shift
if [[ ! -f "$build/build.ninja" && ! -f "$build/Makefile" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" --target cloister-bench-infer -j"${JOBS:-2}"
# DenseNet-121 with a dynamic batch dimension (so the provider can batch), random weights.
models="$build/infer-models"
if [[ ! -f "$models/densenet121.onnx" ]]; then
  mkdir -p "$models"
  /usr/bin/python3 "$root/bench/engine/export_models.py" --dynamic-batch "$models" densenet121
fi
exec "$build/bin/cloister-bench-infer" --model "$models/densenet121.onnx" "$@"

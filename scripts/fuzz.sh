#!/usr/bin/env bash
# Builds the fuzz targets (tests/fuzz, see tests/fuzz/README.md) and runs each for SECONDS
# (default 30). Exits non-zero when a target crashes (sanitizer report, trap, uncaught exception,
# timeout, out of memory) or does not build; the crashing input is kept under
# <build>/artifacts/<target>/ and the command to reproduce it is printed.
#
#   scripts/fuzz.sh [SECONDS]        environment: FUZZ_BUILD_DIR (default build-fuzz), JOBS,
#                                    FUZZ_TARGETS (space-separated names; default all)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
seconds="${1:-30}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || ((seconds < 1)); then
  echo "usage: scripts/fuzz.sh [SECONDS]" >&2
  exit 2
fi
build="${FUZZ_BUILD_DIR:-$root/build-fuzz}"
jobs="${JOBS:-$(nproc)}"
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"

cmake -S tests/fuzz -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
targets=()
if [[ -n "${FUZZ_TARGETS:-}" ]]; then
  read -r -a targets <<<"$FUZZ_TARGETS"
else
  for source in tests/fuzz/*_fuzz.cpp; do targets+=("$(basename "$source" .cpp)"); done
fi
cmake --build "$build" -j"$jobs" --target "${targets[@]}"

failed=()
for target in "${targets[@]}"; do
  seeds="tests/fuzz/corpus/${target%_fuzz}"
  corpus="$build/corpus/$target"       # grows across runs; the checked-in seeds stay untouched
  artifacts="$build/artifacts/$target"
  mkdir -p "$corpus" "$artifacts"
  inputs=("$corpus")
  [[ -d "$seeds" ]] && inputs+=("$seeds")
  # The engine's seeds: the ONNX node-test models of Debian libonnx-testdata (read recursively).
  if [[ "$target" == onnx_loader_fuzz && -d /usr/share/libonnx-testdata/data/node ]]; then
    inputs+=(/usr/share/libonnx-testdata/data/node)
  fi
  # The image decoders' seeds: python3-pydicom's DICOM files (every transfer syntax, truncated files).
  if [[ "$target" == image_decode_fuzz && -d /usr/lib/python3/dist-packages/pydicom/data/test_files ]]; then
    inputs+=(/usr/lib/python3/dist-packages/pydicom/data/test_files)
  fi
  # DCMTK 3.6.7 leaks a few KB inside its own sequence parser on some malformed inputs (outside our
  # code, nothing we can free); leak checking stays on for every other target.
  leaks=1
  [[ "$target" == image_decode_fuzz ]] && leaks=0
  echo "== fuzz $target for ${seconds}s"
  status=0
  ASAN_OPTIONS="abort_on_error=1:detect_leaks=${leaks}:allocator_may_return_null=1" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    "$build/bin/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
      -print_final_stats=1 -artifact_prefix="$artifacts/" "${inputs[@]}" >"$build/$target.log" 2>&1 || status=$?
  grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::new_units_added|Done [0-9]+ runs)" "$build/$target.log" || true
  if ((status != 0)); then
    failed+=("$target")
    tail -n 60 "$build/$target.log"
    echo "fuzz: $target FAILED (exit $status); reproduce: $build/bin/$target $artifacts/<crash-file>" >&2
  fi
done

if ((${#failed[@]})); then
  echo "fuzz: failures in ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} target(s), ${seconds}s each, no findings"

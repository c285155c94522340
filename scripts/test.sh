#!/usr/bin/env bash
# Builds and runs every test. Called by `make test` (and so by .ci/run) after scripts/setup.sh.
#  1. the sanitizer build (ASan + UBSan) of the libraries whose tests must run under it;
#  2. a short libFuzzer run of the evidence-parser fuzz targets (scripts/fuzz.sh; FUZZ_SECONDS,
#     default 20; the ONNX loader's target needs the engine built under ASan, ~30 min on 2 cores, so
#     it runs by hand: scripts/fuzz.sh with FUZZ_TARGETS=onnx_loader_fuzz, tests/fuzz/README.md);
#  3. the normal build, then all tests through ctest, whose summary ends the output.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
jobs="${JOBS:-$(nproc)}"
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"

echo "== sanitizer build (ASan+UBSan): core, crypto (incl. JOSE and HPKE), attestation (evidence parsers), redis (RESP parser, TLS client), imaging (DICOM/PNG/JPEG decoders)"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCLOISTER_SANITIZE=ON \
  -DCLOISTER_COMPONENTS="core;crypto;attestation;redis;imaging" >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --no-tests=error --output-on-failure -j"$jobs" --timeout 300 | grep -v '^ *Start '
# (the sanitizer build holds only those libraries, so every test it has runs; --no-tests=error
#  makes an empty run a failure instead of a silent pass)

fuzz_targets="${FUZZ_TARGETS:-sgx_quote_fuzz tdx_quote_fuzz snp_report_fuzz image_decode_fuzz}"
echo "== fuzz (libFuzzer: ${fuzz_targets}, ${FUZZ_SECONDS:-20} s each)"
FUZZ_TARGETS="$fuzz_targets" scripts/fuzz.sh "${FUZZ_SECONDS:-20}"

echo "== build"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"

echo "== tests"
ctest --test-dir build --no-tests=error --output-on-failure -j"$jobs" --timeout 600

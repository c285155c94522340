#!/usr/bin/env bash
# bench/attest: attestations/s over HTTPS keep-alive (SGX quote v3, cached collateral) and relying-party
# token verifications/s, each as a ratio to `openssl speed ecdsap256` measured in the same run.
# Usage: scripts/bench-attest.sh [BUILD_DIR] [-- bench options: --seconds S --connections C --format sgx|sim]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build}"
[[ $# -gt 0 ]] && shift
[[ "${1:-}" == "--" ]] && shift
if [[ ! -f "$build/build.ninja" && ! -f "$build/Makefile" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" --target cloister-bench-attest -j"${JOBS:-2}"
exec "$build/bin/cloister-bench-attest" "$@"

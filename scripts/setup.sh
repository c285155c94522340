#!/usr/bin/env bash
# Installs every Debian and npm dependency Cloister needs. Idempotent: when every package is
# already present it only checks (a second or so) and installs nothing.
# The package list lives here and only here; `make run`, `make test` and `.ci/run` call this.
set -euo pipefail

DEBIAN_PACKAGES=(
  # toolchain
  g++ cmake ninja-build ccache pkg-config make git
  # libraries
  libssl-dev libboost-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev
  prometheus-cpp-dev libsqlite3-dev libsodium-dev libgtest-dev libgmock-dev libbenchmark-dev
  # inference engine (libs/engine): oneDNN, ONNX schema/checker/shape inference, the node tests
  libdnnl-dev libonnx-dev libonnx-testdata libprotobuf-dev
  # the engine's whole-model agreement test exports torchvision / U-Net models to ONNX
  python3-torch python3-torchvision python3-numpy
  # imaging (libs/imaging): DICOM through DCMTK, PNG, JPEG; pydicom's test files are the DICOM corpus
  libdcmtk-dev dcmtk libpng-dev libjpeg62-turbo-dev python3-pydicom
  # servers and tools used by `cloister up` and the tests
  openssl curl redis-server prometheus
  # fuzzing (tests/fuzz): libFuzzer's driver from clang's compiler-rt; objcopy
  libclang-rt-14-dev binutils
  # benchmarks: bench/platform's reference stack (Flask + Redis under gunicorn)
  python3-flask python3-redis gunicorn
  # the portal's end-to-end tests (tests/e2e): Debian's Chromium driven by playwright-core, an nginx
  # ingress that logs bodies (Lua body filter), NSS tools to make Chromium trust the development CA
  chromium nginx libnginx-mod-http-lua libnss3-tools
  # deployment (deploy/, tests/deploy): container images with podman (runc; no Docker engine) from a
  # debootstrapped base, YAML lint, the Prometheus rule/config checks and the Gramine manifest checks
  podman buildah runc debootstrap yamllint python3-yaml python3-jinja2
)
# Node.js 20 + npm come with the machine image; Debian's nodejs is only a fallback.
command -v npm >/dev/null 2>&1 || DEBIAN_PACKAGES+=(nodejs npm)

missing=()
for package in "${DEBIAN_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get -o DPkg::Lock::Timeout=300 update -q
  "${sudo_cmd[@]}" apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present"
fi

# npm packages (web/portal: the portal's bundle — jose, @hpke/core, dicom-parser, esbuild; tests/node:
# interop checks; tests/e2e: playwright-core, axe-core; tests/deploy/k8s: kubernetes-models, yaml; bench/engine: onnxruntime-node, the engine's reference):
# installed from the lock file, only when it changed. ONNXRUNTIME_NODE_INSTALL=skip: the CPU provider
# ships in the package; its install script would otherwise try to download GPU providers.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ONNXRUNTIME_NODE_INSTALL=skip
for dir in web/portal tests/node tests/e2e tests/deploy/k8s bench/engine; do
  if [[ -f "$root/$dir/package-lock.json" ]]; then
    stamp="$root/$dir/node_modules/.cloister-lock-stamp"
    if [[ ! -f "$stamp" ]] || ! cmp -s "$root/$dir/package-lock.json" "$stamp"; then
      echo "setup: npm ci in $dir"
      (cd "$root/$dir" && npm ci --no-audit --no-fund --loglevel=error)
      cp "$root/$dir/package-lock.json" "$stamp"
    fi
  fi
done

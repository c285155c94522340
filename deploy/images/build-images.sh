#!/usr/bin/env bash
# Builds Cloister's container images with podman (no Docker engine; no registry is reachable):
#
#   localhost/cloister-base:bookworm   Debian 12 made here with debootstrap (--variant=minbase)
#   localhost/cloister/attest:<tag>    cloister-attest       \
#   localhost/cloister/keys:<tag>      cloister-keys          | the binary from <build>/bin and the shared
#   localhost/cloister/platform:<tag>  cloister-platform      | libraries it links that the base lacks
#   localhost/cloister/infer:<tag>     cloister-infer         | (copied from this Debian 12 build host),
#   localhost/cloister/portal:<tag>    cloister serve-portal /  user 10001, state in /var/lib/cloister
#                                      + <build>/portal
#
# Every image runs as uid/gid 10001, with a read-only root filesystem in mind (state and /tmp are
# volumes; the smoke test runs them with --read-only). Usage:
#
#   deploy/images/build-images.sh [BUILD_DIR] [--smoke]
#
# --smoke then starts every image (host network, loopback ports, a throw-away development CA and sim
# platform key) and checks that each answers /healthz over TLS (and the attestation service /readyz),
# then removes the containers by id. Exit 77 (skipped, with the reason) where podman or debootstrap
# cannot run. Environment: CLOISTER_IMAGE_TAG (default 0.1.0), DEBIAN_MIRROR (default: the host's).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="$root/build"
smoke=0
for arg in "$@"; do
  case "$arg" in
    --smoke) smoke=1 ;;
    *) build="$(cd "$arg" && pwd)" ;;
  esac
done
tag="${CLOISTER_IMAGE_TAG:-0.1.0}"
work="$build/images"
export CONTAINERS_CONF="$root/deploy/images/containers.conf"

skip() {
  echo "images: SKIPPED — $*"
  exit 77
}

command -v podman >/dev/null 2>&1 || skip "podman is not installed (Debian: podman buildah runc)"
command -v debootstrap >/dev/null 2>&1 || skip "debootstrap is not installed"
if ! podman_info="$(podman info 2>&1)"; then
  skip "podman cannot run here: $(tail -n 1 <<<"$podman_info")"
fi
for binary in cloister-attest cloister-keys cloister-platform cloister-infer cloister; do
  [[ -x "$build/bin/$binary" ]] || { echo "images: $build/bin/$binary is missing: build first" >&2; exit 1; }
done
[[ -f "$build/portal/index.html" ]] || { echo "images: $build/portal is missing: build the portal first" >&2; exit 1; }

mkdir -p "$work"

# --- the base: Debian 12 minbase, made here -----------------------------------------------------
mirror="${DEBIAN_MIRROR:-}"
if [[ -z "$mirror" ]]; then
  mirror="$(grep -rhoE '^URIs: *http[^ ]+/debian$' /etc/apt/sources.list.d/ 2>/dev/null | head -n 1 | sed 's/^URIs: *//' || true)"
  [[ -n "$mirror" ]] || mirror="$(grep -hoE '^deb +http[^ ]+/debian ' /etc/apt/sources.list 2>/dev/null | head -n 1 | awk '{print $2}' || true)"
  [[ -n "$mirror" ]] || mirror="http://deb.debian.org/debian"
fi
rootfs="$work/rootfs"
if [[ ! -f "$rootfs/etc/debian_version" ]]; then
  echo "images: debootstrap bookworm (minbase) from $mirror"
  rm -rf "$rootfs"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    skip "debootstrap failed (no Debian mirror reachable?): $(tail -n 1 "$work/debootstrap.log")"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log
fi
if ! podman image exists localhost/cloister-base:bookworm; then
  echo "images: importing localhost/cloister-base:bookworm"
  tar -C "$rootfs" --numeric-owner -c . | podman import --change 'CMD ["/bin/sh"]' - localhost/cloister-base:bookworm >/dev/null
fi
# podman may be installed where containers cannot run (no cgroups, no overlay, nested sandboxes).
if ! trial="$(podman run --rm --network none localhost/cloister-base:bookworm /bin/true 2>&1)"; then
  skip "podman cannot start a container here: $(tail -n 1 <<<"$trial")"
fi

# --- one image per service ----------------------------------------------------------------------
# The binary and every shared library it needs that the base does not have, at the same paths.
stage() {
  local context="$1"; shift
  rm -rf "$context"
  mkdir -p "$context/rootfs/usr/local/bin" "$context/state"
  local binary lib
  for binary in "$@"; do
    cp "$build/bin/$binary" "$context/rootfs/usr/local/bin/"
    # Debug information stays in the build tree (the image gets the code only).
    strip --strip-debug "$context/rootfs/usr/local/bin/$binary" 2>/dev/null || true
    while read -r lib; do
      [[ -n "$lib" && -e "$lib" ]] || continue
      # /lib is a symlink to /usr/lib (merged /usr) on the host and in the base: stage under the real
      # directory, or the COPY would replace the base's /lib symlink with a directory.
      lib="$(readlink -f "$(dirname "$lib")")/$(basename "$lib")"
      [[ -e "$rootfs$lib" ]] && continue
      mkdir -p "$context/rootfs$(dirname "$lib")"
      cp -L "$lib" "$context/rootfs$lib"
    done < <(ldd "$build/bin/$binary" | awk '/=> \// {print $3} /^\t\// {print $1}')
  done
}

build_image() {
  local name="$1" entrypoint="$2" context="$3" cmd="${4:-[\"--config\", \"/etc/cloister/config.json\"]}"
  cat >"$context/Containerfile" <<EOF
FROM localhost/cloister-base:bookworm
COPY rootfs/ /
COPY --chown=10001:10001 state/ /var/lib/cloister/
USER 10001:10001
WORKDIR /var/lib/cloister
ENTRYPOINT ${entrypoint}
CMD ${cmd}
LABEL org.opencontainers.image.title="cloister-${name}" org.opencontainers.image.version="${tag}" \\
      org.opencontainers.image.source="https://example.invalid/cloister" org.opencontainers.image.base.name="debian:bookworm (debootstrap minbase)"
EOF
  echo "images: building localhost/cloister/$name:$tag"
  podman build --quiet --network none -t "localhost/cloister/$name:$tag" "$context" >/dev/null
}

for service in attest keys platform infer; do
  stage "$work/$service" "cloister-$service"
  build_image "$service" "[\"/usr/local/bin/cloister-$service\"]" "$work/$service"
done
stage "$work/portal" cloister
mkdir -p "$work/portal/rootfs/usr/share/cloister"
cp -r "$build/portal" "$work/portal/rootfs/usr/share/cloister/portal"
build_image portal '["/usr/local/bin/cloister", "serve-portal", "--dir", "/usr/share/cloister/portal"]' "$work/portal" \
  '["--config", "/etc/cloister/portal/config.json", "--host", "0.0.0.0", "--port", "8443", "--cert", "/etc/cloister/tls/tls.crt", "--key", "/etc/cloister/tls/tls.key"]'


podman images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E '^localhost/cloister' | sort

[[ $smoke -eq 1 ]] || exit 0
exec "$root/deploy/images/smoke-test.sh" "$tag"

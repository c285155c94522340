#!/usr/bin/env bash
# Starts every Cloister image (built by build-images.sh) as it would run in a cluster — uid 10001,
# read-only root filesystem, state and /tmp on volumes, no capabilities, no new privileges — on the
# host network with loopback ports, a throw-away development CA and sim platform key, and checks
# that each answers /healthz over TLS (the attestation service and the key service also /readyz:
# they hold tokens from the attestation service in the sim TEE). Containers are removed by id.
#   deploy/images/smoke-test.sh [TAG]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tag="${1:-${CLOISTER_IMAGE_TAG:-0.1.0}}"
export CONTAINERS_CONF="$root/deploy/images/containers.conf"
tmp="$(mktemp -d)"
containers=()
cleanup() {
  local id
  for id in "${containers[@]}"; do podman rm -f -t 5 "$id" >/dev/null 2>&1 || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

# A development CA, the sim platform key; readable by the containers' user.
pki="$tmp/pki"
mkdir -p "$pki"
openssl ecparam -name prime256v1 -genkey -noout -out "$pki/ca-key.pem" 2>/dev/null
openssl req -x509 -new -key "$pki/ca-key.pem" -subj "/CN=cloister smoke CA" -days 1 -out "$pki/ca.pem" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out "$pki/sim.pem" 2>/dev/null
openssl ec -in "$pki/sim.pem" -pubout -out "$pki/sim.pub.pem" 2>/dev/null
# The portal's fixed certificate, as a cluster's Secret would hold it.
openssl ecparam -name prime256v1 -genkey -noout -out "$pki/tls.key" 2>/dev/null
openssl req -new -key "$pki/tls.key" -subj "/CN=portal" -out "$pki/tls.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$pki/tls.ext"
openssl x509 -req -in "$pki/tls.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca-key.pem" -CAcreateserial -days 1 \
  -extfile "$pki/tls.ext" -out "$pki/tls.crt" 2>/dev/null
chown -R 10001:10001 "$pki"
chmod 0600 "$pki"/*.pem "$pki/tls.key"

# run NAME IMAGE PORT ARGS...: one container as the cluster would run it.
run() {
  local name="$1" image="$2"; shift 2
  mkdir -p "$tmp/state-$name"
  chown 10001:10001 "$tmp/state-$name"
  local id
  id="$(podman run -d --network host --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges \
    -v "$tmp/state-$name:/var/lib/cloister" -v "$pki:/pki:ro" "localhost/cloister/$image:$tag" "$@")"
  containers+=("$id")
  echo "$id"
}

# wait_ok URL: bounded (60 s) wait for 200.
wait_ok() {
  local url="$1" id="$2" i
  for i in $(seq 1 120); do
    if [[ "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$pki/ca.pem" "$url")" == "200" ]]; then
      echo "  ok   $url"
      return 0
    fi
    if [[ "$(podman inspect -f '{{.State.Running}}' "$id" 2>/dev/null)" != "true" ]]; then break; fi
    sleep 0.5
  done
  echo "  FAIL $url" >&2
  podman logs "$id" 2>&1 | tail -n 20 >&2
  return 1
}

common=(--set listen.host=127.0.0.1 --set state_dir=/var/lib/cloister --set tls.ca_file=/pki/ca.pem
        --set tls.issuer_cert_file=/pki/ca.pem --set tls.issuer_key_file=/pki/ca-key.pem
        --set 'policy.allow_simulated=true')
attested=(--set tee.format=sim --set tee.sim.platform_key_file=/pki/sim.pem)

echo "smoke test of localhost/cloister/*:$tag"
attest_port="$(free_port)"
attest="$(run attest attest "${common[@]}" --set "listen.port=$attest_port" \
  --set 'sim.trusted_platform_key_files=["/pki/sim.pub.pem"]')"
attest_url="https://127.0.0.1:$attest_port"
wait_ok "$attest_url/healthz" "$attest"
wait_ok "$attest_url/readyz" "$attest"

keys_port="$(free_port)"
keys="$(run keys keys "${common[@]}" "${attested[@]}" --set "listen.port=$keys_port" --set "attestation.url=$attest_url")"
wait_ok "https://127.0.0.1:$keys_port/healthz" "$keys"
wait_ok "https://127.0.0.1:$keys_port/readyz" "$keys"

infer_port="$(free_port)"
infer="$(run infer infer "${common[@]}" "${attested[@]}" --set "listen.port=$infer_port" --set "attestation.url=$attest_url" \
  --set "keys.url=https://127.0.0.1:$keys_port")"
wait_ok "https://127.0.0.1:$infer_port/healthz" "$infer"

platform_port="$(free_port)"
platform="$(run platform platform "${common[@]}" "${attested[@]}" --set "listen.port=$platform_port" \
  --set "attestation.url=$attest_url" --set "keys.url=https://127.0.0.1:$keys_port")"
wait_ok "https://127.0.0.1:$platform_port/healthz" "$platform"

portal_port="$(free_port)"
printf '{"tenant":"smoke","platform_url":"https://127.0.0.1:%s","attestation_url":"%s","expected":{"measurements":["00"]}}\n' \
  "$platform_port" "$attest_url" >"$pki/config.json"
chown 10001:10001 "$pki/config.json"
portal="$(run portal portal --config /pki/config.json --host 127.0.0.1 --port "$portal_port" --cert /pki/tls.crt --key /pki/tls.key)"
wait_ok "https://127.0.0.1:$portal_port/healthz" "$portal"
wait_ok "https://127.0.0.1:$portal_port/" "$portal"

# The images run as 10001, not root.
for id in "$attest" "$portal"; do
  user="$(podman exec "$id" /usr/bin/id -u 2>/dev/null || podman inspect -f '{{.Config.User}}' "$id")"
  [[ "$user" == 10001* ]] || { echo "  FAIL a container runs as $user" >&2; exit 1; }
done
echo "smoke test passed: 5 images started and answered"

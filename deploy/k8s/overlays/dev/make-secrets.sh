#!/bin/sh
# Creates the development secrets of the dev overlay in secrets/ (git-ignored; never commit them):
# a development CA (the service-certificate issuer), the simulated-platform key, the Redis admin
# password and ACL file, Redis and portal certificates, one admin token per service (only its
# SHA-256 goes into the cluster), and the sim measurements of the binaries the images were built
# from (SHA-384 of each executable: the sim TEE's measurement).
#
#   deploy/k8s/overlays/dev/make-secrets.sh [--bin-dir DIR] [--out DIR] [--force]
#
# --bin-dir  where cloister-platform and cloister-infer are (default: <repo>/build/bin); without
#            them the measurements are left as REPLACE_WITH_* placeholders.
# --out      the secrets directory (default: secrets/ next to this script).
# Existing files are kept unless --force, so a running cluster keeps its CA and tokens.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../../.." && pwd)
bin_dir="$repo/build/bin"
out="$here/secrets"
force=0
while [ $# -gt 0 ]; do
  case "$1" in
    --bin-dir) bin_dir=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --force) force=1; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "make-secrets.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
command -v openssl >/dev/null 2>&1 || { echo "make-secrets.sh: openssl is required" >&2; exit 1; }

umask 077
mkdir -p "$out"
if [ "$force" -eq 0 ] && [ -f "$out/ca.crt" ]; then
  echo "make-secrets.sh: $out already holds secrets (use --force to replace them)"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

b64url() { openssl rand -base64 "$1" | tr '+/' '-_' | tr -d '=\n'; }
sha256_hex() { printf '%s' "$1" | openssl dgst -sha256 -r | cut -d' ' -f1; }
ec_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# The development CA: issues every service certificate (tls.issuer_*), Redis' and the portal's.
ec_key "$out/ca.key"
openssl req -x509 -new -key "$out/ca.key" -sha256 -days 365 -subj "/CN=Cloister development CA (kubernetes)" \
  -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out "$out/ca.crt"

issue() { # issue NAME SAN
  ec_key "$out/$1.key"
  openssl req -new -key "$out/$1.key" -subj "/CN=$1" -out "$work/$1.csr"
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n' \
    "$2" > "$work/$1.ext"
  openssl x509 -req -in "$work/$1.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial -days 90 -sha256 \
    -extfile "$work/$1.ext" -out "$out/$1.crt" 2>/dev/null
}
issue redis "DNS:cloister-redis.cloister-platform.svc,DNS:cloister-redis.cloister-platform.svc.cluster.local,DNS:cloister-redis-0.cloister-redis.cloister-platform.svc.cluster.local"
issue portal "DNS:localhost,IP:127.0.0.1,DNS:cloister-portal.cloister-platform.svc"

# The simulated platform: its private key signs sim reports (the attested services), its public
# key is what cloister-attest trusts for sim evidence.
ec_key "$out/sim-platform-key.pem"
openssl pkey -in "$out/sim-platform-key.pem" -pubout -out "$out/sim-platform.pub.pem"

# Redis: the admin password (cloister-keys only) and the ACL file holding only its SHA-256.
password=$(b64url 32)
printf '%s\n' "$password" > "$out/redis-admin-password"
printf 'user default off resetkeys resetchannels -@all\nuser cloister-keys on #%s ~* &* +@all\n' \
  "$(sha256_hex "$password")" > "$out/users.acl"

# Admin tokens: the token stays here for the operator; the cluster gets its digest only.
mkdir -p "$out/admin-tokens"
for service in attest keys platform infer; do
  token="cla_$(b64url 32)"
  printf '%s\n' "$token" > "$out/admin-tokens/$service"
  printf '[{"name":"dev-admin","sha256":"%s"}]\n' "$(sha256_hex "$token")" > "$out/$service-credentials.json"
done

# Sim measurements of the binaries in the images (the images copy these very files).
measure() { # measure BINARY PLACEHOLDER
  if [ -x "$bin_dir/$1" ]; then openssl dgst -sha384 -r "$bin_dir/$1" | cut -d' ' -f1; else printf '%s' "$2"; fi
}
platform=$(measure cloister-platform REPLACE_WITH_PLATFORM_SIM_MEASUREMENT)
infer=$(measure cloister-infer REPLACE_WITH_INFER_SIM_MEASUREMENT)
sim_rule() { # sim_rule PREFIX NAME MEASUREMENT
  printf '{"prefix":"%s","policy":{"name":"%s","allow_simulated":true,"all_of":[{"claim":"tee","equals":"sim"},{"claim":"measurement","equals":"%s"}]}}' \
    "$1" "$2" "$3"
}
{
  printf 'CLOISTER_KEYS_REDIS__PREFIXES=[%s,%s,{"prefix":"dev:","policy":{"name":"any-sim","allow_simulated":true,"all_of":[{"claim":"tee","equals":"sim"}]}}]\n' \
    "$(sim_rule platform: cloister-platform-sim "$platform")" "$(sim_rule infer: cloister-infer-sim "$infer")"
  printf 'CLOISTER_PLATFORM_PROVIDER__MEASUREMENTS=["%s"]\n' "$infer"
  printf 'CLOISTER_INFER_POLICY__MEASUREMENTS=["%s"]\n' "$platform"
} > "$out/dev-settings.env"

# The hospital's configuration for the portal: this build's platform, the sim TEE allowed (loudly).
cat > "$out/portal-config.json" <<JSON
{"hospital": "Demo Hospital (kubernetes, SIMULATED TEE)", "tenant": "demo-hospital",
 "platform_url": "https://cloister-platform.cloister-platform.svc",
 "attestation_url": "https://cloister-attest.cloister-attestation.svc",
 "identifier_system": "urn:cloister:mrn",
 "expected": {"tee_types": ["sim"], "allow_simulated": true, "allow_debug": false,
              "measurements": ["$platform"], "policy_hashes": [],
              "tcb_statuses": ["Simulated"], "min_token_validity_s": 30}}
JSON

rm -f "$out/ca.srl"
echo "make-secrets.sh: wrote $out (admin tokens in $out/admin-tokens/)"

#!/usr/bin/env bash
# bench/platform: sealed patient writes and reads per second through a real cloister-platform
# (`cloister up`: sim TEE, development CA) next to the reference architecture's stack doing the same
# job unsealed — bench/platform/reference_app.py (Flask + redis-py) under gunicorn against a local
# redis-server on loopback without TLS — measured in the same run, printed as ratios.
# Usage: scripts/bench-platform.sh [BUILD_DIR] [-- bench options: --threads N --seconds S --rounds R
#        --warmup W --keep-alive --check]
# Environment: REFERENCE_WORKER_CLASS=sync|gthread (gunicorn; default sync: 1–7 % faster than
#   gthread --threads 4 here, with one connection per request),
#   REFERENCE_WORKERS (default 2 × cores + 1), REFERENCE_THREADS (gthread; default 4), JOBS (build),
#   KEEP_STATE=1 keeps the temporary directory (logs, state) and prints where it is.
# Everything started here is stopped by its pid on exit; every wait is bounded.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build}"
[[ $# -gt 0 ]] && shift
[[ "${1:-}" == "--" ]] && shift

python=/usr/bin/python3
gunicorn=/usr/bin/gunicorn
redis_server=/usr/bin/redis-server
for tool in "$python" "$gunicorn" "$redis_server" /usr/bin/redis-cli /usr/bin/curl; do
  [[ -x "$tool" ]] || { echo "bench-platform: $tool is missing (scripts/setup.sh installs it)" >&2; exit 1; }
done
"$python" -c 'import flask, redis' 2>/dev/null || { echo "bench-platform: python3-flask and python3-redis are needed (scripts/setup.sh)" >&2; exit 1; }

if [[ ! -f "$build/build.ninja" && ! -f "$build/Makefile" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" --target cloister-bench-platform cloister cloister-attest cloister-keys cloister-platform \
  cloister-infer -j"${JOBS:-2}"

umask 077
work="$(mktemp -d "${TMPDIR:-/tmp}/cloister-bench-platform.XXXXXX")"
up_pid="" redis_pid="" gunicorn_pid=""

# Sends SIGTERM to one pid we started and waits for it, at most $2 seconds; then SIGKILL.
stop_pid() {
  local pid="$1" seconds="$2" name="$3"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < seconds * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  echo "bench-platform: $name (pid $pid) did not stop in ${seconds}s; killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  stop_pid "$gunicorn_pid" 15 gunicorn
  stop_pid "$redis_pid" 15 redis-server
  stop_pid "$up_pid" 40 "cloister up"
  if [[ "${KEEP_STATE:-0}" == 1 ]]; then
    echo "bench-platform: state and logs kept in $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
# Waits until "$@" succeeds, at most $1 tenths of a second, while pid $2 lives.
wait_until() {
  local tenths="$1" pid="$2"
  shift 2
  for ((i = 0; i < tenths; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# 1. cloister-platform and the services it needs (no demo models: this bench does not infer).
mkdir -p "$work/no-models"
"$build/bin/cloister" up --base-port 0 --state-dir "$work/cloister" --models "$work/no-models" >"$work/up.log" 2>&1 &
up_pid=$!
# endpoints.json is written once every service is ready and the demo hospital exists.
endpoints_ready() {
  "$python" -c 'import json, sys; sys.exit(0 if "platform" in json.load(open(sys.argv[1])) else 1)' "$1"
}
if ! wait_until 1800 "$up_pid" endpoints_ready "$work/cloister/endpoints.json"; then
  echo "bench-platform: cloister up did not become ready:" >&2
  tail -n 30 "$work/up.log" >&2
  exit 1
fi

# 2. The reference stack: redis-server (loopback, no TLS, stock persistence settings), then gunicorn.
mkdir -p "$work/redis"
redis_port="$(free_port)"
"$redis_server" --bind 127.0.0.1 --port "$redis_port" --dir "$work/redis" --logfile "$work/redis.log" \
  --daemonize no >/dev/null 2>&1 &
redis_pid=$!
if ! wait_until 100 "$redis_pid" /usr/bin/redis-cli -h 127.0.0.1 -p "$redis_port" ping; then
  echo "bench-platform: redis-server did not start (see $work/redis.log)" >&2
  exit 1
fi

reference_password="$("$python" -c 'import secrets; print(secrets.token_urlsafe(18))')"
printf '{"username": "bench", "password": "%s"}\n' "$reference_password" >"$work/reference-credentials.json"
cores="$(nproc)"
worker_class="${REFERENCE_WORKER_CLASS:-sync}"
workers="${REFERENCE_WORKERS:-$((2 * cores + 1))}"
gunicorn_args=(--workers "$workers" --worker-class "$worker_class")
[[ "$worker_class" == gthread ]] && gunicorn_args+=(--threads "${REFERENCE_THREADS:-4}")
reference_port="$(free_port)"
REDIS_URL="redis://127.0.0.1:$redis_port/0" REFERENCE_USER=bench REFERENCE_PASSWORD="$reference_password" \
  "$gunicorn" --chdir "$root/bench/platform" --bind "127.0.0.1:$reference_port" "${gunicorn_args[@]}" \
  --graceful-timeout 5 --log-level warning --error-logfile "$work/gunicorn.log" reference_app:app &
gunicorn_pid=$!
if ! wait_until 300 "$gunicorn_pid" /usr/bin/curl -fsS "http://127.0.0.1:$reference_port/healthz"; then
  echo "bench-platform: gunicorn did not start:" >&2
  tail -n 30 "$work/gunicorn.log" >&2
  exit 1
fi
echo "bench-platform: reference: gunicorn ${gunicorn_args[*]} on 127.0.0.1:$reference_port, redis-server on 127.0.0.1:$redis_port"

# The server processes of each side, for their CPU time per request: cloister-platform and the Redis
# it caches in (children of cloister up); gunicorn's master, its workers (all booted) and redis-server.
children() { pgrep -P "$1" "${@:2}" || true; }
pid_list() { tr -s ' \n' ',' <<<"$*" | sed 's/^,//; s/,$//'; }
workers_booted() { [[ "$(children "$gunicorn_pid" | wc -l)" -ge "$workers" ]]; }
wait_until 100 "$gunicorn_pid" workers_booted || true
platform_pids="$(pid_list "$(children "$up_pid" -f bin/cloister-platform) $(children "$up_pid" -x redis-server)")"
reference_pids="$(pid_list "$gunicorn_pid $(children "$gunicorn_pid") $redis_pid")"

# 3. Both, interleaved, in one run.
status=0
"$build/bin/cloister-bench-platform" --state-dir "$work/cloister" --reference-url "http://127.0.0.1:$reference_port" \
  --reference-credentials "$work/reference-credentials.json" --platform-pids "$platform_pids" \
  --reference-pids "$reference_pids" "$@" || status=$?
if [[ $status -ne 0 ]]; then
  echo "bench-platform: the bench failed (status $status); the platform's last warnings and errors:" >&2
  grep -v -e '"level":"info"' -e '"route":"/readyz"' "$work/cloister/logs/platform.log" 2>/dev/null | tail -n 20 >&2 || true
fi
exit "$status"

#!/usr/bin/env bash
# Hand-over time of the build queue: two `kiln serve` processes on one PostgreSQL
# database; the leader is killed (SIGKILL) RUNS times, and each time we measure how long
# until the other process drives the build queue. Prints p50 and max in milliseconds.
# SIGNAL=TERM stops the leader gracefully instead (a rolling update).
# Usage: scripts/bench-takeover.sh path/to/kiln postgres://USER:PASSWORD@HOST:PORT/DB
set -euo pipefail
kiln=$(realpath "${1:?usage: $0 path/to/kiln database-url}")
export KILN_DATABASE_URL=${2:?usage: $0 path/to/kiln database-url}
runs=${RUNS:-10}
signal=${SIGNAL:-KILL}
dir=$(mktemp -d)
pids=()
trap 'kill -9 "${pids[@]}" 2>/dev/null || true; rm -rf "$dir"' EXIT

export KILN_SECRET_KEY=0707070707070707070707070707070707070707070707070707070707070707
# Builds on (buildah here); the registry is never reached: no build runs.
export KILN_BUILDER=local KILN_BUILD_REGISTRY=127.0.0.1:5999/bench RUST_LOG=info,tower_http=warn
"$kiln" migrate >/dev/null

declare -A port=([a]=39101 [b]=39102) pid=()
start() {
  KILN_LISTEN=127.0.0.1:${port[$1]} KILN_DATA_DIR=$dir/$1 "$kiln" serve 2>>"$dir/$1.log" &
  pid[$1]=$!
  pids+=("$!")
  disown "$!"
  until curl -sf "http://127.0.0.1:${port[$1]}/readyz" >/dev/null; do sleep 0.05; done
}
terms() { grep -c "this replica drives the build queue" "$dir/$1.log" 2>/dev/null || true; }

start a
until [ "$(terms a)" -ge 1 ]; do sleep 0.05; done
start b
leader=a follower=b
times=()
for _ in $(seq "$runs"); do
  before=$(terms $follower)
  t0=$(date +%s%N)
  kill -s "$signal" "${pid[$leader]}"
  until [ "$(terms $follower)" -gt "$before" ]; do sleep 0.01; done
  t1=$(date +%s%N)
  times+=($(((t1 - t0) / 1000000)))
  while kill -0 "${pid[$leader]}" 2>/dev/null; do sleep 0.01; done
  start $leader
  read -r leader follower <<<"$follower $leader"
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
echo "takeover after the leader got SIG$signal, $runs runs: p50 ${sorted[$((runs / 2))]} ms, max ${sorted[$((runs - 1))]} ms"

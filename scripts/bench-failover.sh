#!/usr/bin/env bash
# Failover when the leader goes quiet without closing its socket: two `kiln serve` processes
# on one PostgreSQL database; the leader is frozen (SIGSTOP) RUNS times, and each time we
# measure how long until the other process drives the build queue (PostgreSQL must end the
# frozen leader's session by itself: its kernel keeps the socket open). Then a queued build
# is added and the frozen one resumed (SIGCONT) at once, so that it meets work before its
# session check runs: it must log that it lost the lead and start or end no build; the other
# must run the build to its end. Roles alternate. Prints p50 and max in milliseconds.
# Talks only to loopback: Kiln listens on 127.0.0.1, the database must be there too, and
# the build registry (127.0.0.1:5999) is never reached (the queued builds' spec is unreadable,
# so they fail inside Kiln before anything runs).
# Usage: scripts/bench-failover.sh path/to/kiln postgres://USER:PASSWORD@127.0.0.1:PORT/DB
set -euo pipefail
kiln=$(realpath "${1:?usage: $0 path/to/kiln database-url}")
export KILN_DATABASE_URL=${2:?usage: $0 path/to/kiln database-url}
case $(sed -E 's|^[a-z]+://([^@/]*@)?([^:/?]+).*|\2|' <<<"$KILN_DATABASE_URL") in
  127.* | localhost) ;;
  *) echo "the database must be on loopback" >&2; exit 2 ;;
esac
runs=${RUNS:-10}
dir=$(mktemp -d)
pids=()
trap 'kill -CONT "${pids[@]}" 2>/dev/null; kill -9 "${pids[@]}" 2>/dev/null || true; rm -rf "$dir"' EXIT

export KILN_SECRET_KEY=0707070707070707070707070707070707070707070707070707070707070707
export KILN_BUILDER=local KILN_BUILD_REGISTRY=127.0.0.1:5999/bench RUST_LOG=info,tower_http=warn
"$kiln" migrate >/dev/null
sql() { psql "$KILN_DATABASE_URL" -qAt -v ON_ERROR_STOP=1 -c "$1"; }
sql "INSERT INTO user_groups (name, created_at) VALUES ('bench', 0) ON CONFLICT DO NOTHING"
sql "INSERT INTO images (group_id, name, display_name, image_type, url, gpu_url, search_text,
                         created_at, updated_at, source)
     SELECT id, 'failover', 'failover', 'cpu', '', '', 'failover', 0, 0, 'build'
     FROM user_groups WHERE name = 'bench' ON CONFLICT DO NOTHING"
# A queued build whose spec Kiln can't read: driving it is a claim (queued → running) and
# a recorded end (running → failed), both in-process.
enqueue() {
  sql "INSERT INTO builds (image_id, group_id, revision, spec, image_type, state, steps,
                           base_digest, target, created_by, queued_at)
       SELECT id, group_id, (SELECT COALESCE(MAX(revision), 0) + 1 FROM builds b WHERE b.image_id = i.id),
              '{}', 'cpu', 'queued', 8, 'sha256:0', '127.0.0.1:5999/bench/failover:1', 'bench', 0
       FROM images i WHERE name = 'failover' RETURNING id"
}

declare -A port=([a]=39111 [b]=39112) pid=()
start() {
  KILN_LISTEN=127.0.0.1:${port[$1]} KILN_DATA_DIR=$dir/$1 "$kiln" serve 2>>"$dir/$1.log" &
  pid[$1]=$!
  pids+=("$!")
  disown "$!"
  until curl -sf "http://127.0.0.1:${port[$1]}/readyz" >/dev/null; do sleep 0.05; done
}
terms() { grep -c "this replica drives the build queue" "$dir/$1.log" 2>/dev/null || true; }
# What replica $1 logged since byte $2.
since() { tail -c +"$(($2 + 1))" "$dir/$1.log"; }
# Whether replica $1 logged $3 since byte $2.
said() { since "$1" "$2" | grep -q "$3"; }
leads() { [ "$(terms "$1")" -ge 1 ]; }
ended() { [ "$(sql "SELECT state FROM builds WHERE id = $1")" = failed ]; }
# Waits up to $1 seconds for the command after it to succeed.
within() {
  local until=$((SECONDS + $1))
  shift
  until "$@"; do
    [ "$SECONDS" -lt "$until" ] || return 1
    sleep 0.05
  done
}

start a
within 10 leads a
start b
leader=a follower=b
times=() drove=0 fenced=0 checked=0
for run in $(seq "$runs"); do
  before=$(terms $follower)
  t0=$(date +%s%N)
  kill -STOP "${pid[$leader]}"
  until [ "$(terms $follower)" -gt "$before" ]; do sleep 0.01; done
  t1=$(date +%s%N)
  times+=($(((t1 - t0) / 1000000)))

  build=$(enqueue)
  mark=$(stat -c %s "$dir/$leader.log")
  kill -CONT "${pid[$leader]}"
  within 10 said $leader "$mark" "this replica stopped driving the build queue" \
    || { echo "run $run: the resumed replica ($leader) did not say it lost the lead" >&2; exit 1; }
  within 10 ended "$build" \
    || { echo "run $run: build $build did not end" >&2; exit 1; }
  sleep 1 # roles settle: the resumed one asks for the lock again, as a follower
  after=$(since $leader "$mark")
  if grep -qE "this replica drives the build queue|build started|build ended" <<<"$after"; then
    echo "run $run: the resumed replica ($leader) drove the queue:" >&2
    grep -E "drives the build queue|build started|build ended" <<<"$after" >&2
    drove=$((drove + 1))
  fi
  grep -q "a build state write was refused" <<<"$after" && fenced=$((fenced + 1))
  grep -q "session holding the build queue's lock failed" <<<"$after" && checked=$((checked + 1))
  read -r leader follower <<<"$follower $leader"
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
echo "failover after the leader got SIGSTOP, $runs runs: p50 ${sorted[$((runs / 2))]} ms, max ${sorted[$((runs - 1))]} ms (goal: 15000 ms)"
echo "resumed leaders: $((runs - drove)) of $runs drove nothing; a build state write refused in $fenced runs, the session check failed in $checked"
[ "$drove" -eq 0 ] && [ "${sorted[$((runs - 1))]}" -le 15000 ]

#!/usr/bin/env bash
# bench/dashboard.sh — the dashboard's two targets on a local 3-node
# cluster (3 shards x 3 replicas, deploy/local-cluster.sh):
#  1. first render of every page under load: while redis-benchmark
#     --cluster runs a SET/GET load, each page is fetched 5 times with curl
#     as a signed-in user; the time to the full page (server render +
#     transfer) is reported, median and max. Then, under the same load,
#     bench/dashpaint opens every page DASH_PAINT_ROUNDS [5] times in
#     headless chromium and reports its first contentful paint (request,
#     render, transfer, parse and paint); DASH_PAINT=0 skips it.
#  2. the cost of an open page on throughput: redis-benchmark --cluster
#     -t set runs alternately without and with a poller that does what an
#     open overview page does (GET /?fragment=1 every 5 s, the page's
#     refresh), DASH_ROUNDS times each; medians reported.
# The dashboard's own sampler (INFO + LATENCY HISTOGRAM every 5 s, the
# charts' history) runs in both cases: it is part of every node.
#
# Usage: bash bench/dashboard.sh      (make bench-dashboard)
# Env: DASH_BASE_PORT [7601] (HTTP on +2000), DASH_N [300000] requests per
# throughput run, DASH_ROUNDS [4], DASH_LOAD_CLIENTS [16], DASH_PIPELINE [16] (-P of both loads).
set -euo pipefail
unset DIR NODES SHARDS REPLICAS BASE_PORT BIN BIND
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
OUT=$HERE/out
mkdir -p "$OUT"
BASE=${DASH_BASE_PORT:-7601}
N=${DASH_N:-300000}
ROUNDS=${DASH_ROUNDS:-4}
LC=${DASH_LOAD_CLIENTS:-16}
P=${DASH_PIPELINE:-16}
HTTP="http://127.0.0.1:$((BASE + 2000))"
JAR=$OUT/dashboard.cookies
CAIRN=$OUT/cairn-dashboard
(cd "$ROOT" && go build -o "$CAIRN" .)
export DIR=$OUT/dashboard-cluster BASE_PORT=$BASE BIN=$CAIRN
LC_SH=$ROOT/deploy/local-cluster.sh
"$LC_SH" clean >/dev/null 2>&1 || true
"$LC_SH" start >/dev/null
trap '"$LC_SH" clean >/dev/null 2>&1 || true; [[ -n "${POLL:-}" ]] && kill "$POLL" 2>/dev/null || true; [[ -n "${LOAD:-}" ]] && kill -- -"$LOAD" 2>/dev/null || true' EXIT
for i in $(seq 1 50); do
  curl -sf -o /dev/null "$HTTP/login" && break
  sleep 0.2
done
# Wait until every node leads slots (the bootstrap hands leaders over to
# their preferred nodes, which moves slots in CLUSTER NODES) and stays so
# for 5 s, so that no handover disturbs redis-benchmark --cluster.
stable=0
for i in $(seq 1 120); do
  n=$(redis-cli -p "$BASE" cluster nodes 2>/dev/null | awk 'NF >= 9' | wc -l)
  if ((n == 3)); then stable=$((stable + 1)); else stable=0; fi
  ((stable >= 10)) && break
  sleep 0.5
done
((stable >= 10)) || echo "WARNING: leaders not spread over the 3 nodes after 60 s" >&2
curl -sf -c "$JAR" -H 'Content-Type: application/json' -d '{"user":"default","pass":""}' "$HTTP/api/session" >/dev/null
echo "# Dashboard benchmark ($(date -u +%FT%TZ), $(nproc) cores, load average at start: $(cut -d' ' -f1-3 /proc/loadavg))"
echo
# 1. First render under load.
# redis-benchmark --cluster gives up when a leader moves under it
# ("could not find node with ID ..."), so the load restarts it; the load
# runs in its own process group (setsid), stopped by that group's id.
: > "$OUT/dashboard-load.txt"
setsid bash -c 'while true; do redis-benchmark --cluster -h 127.0.0.1 -p "$0" -t set,get -c "$1" -P "$2" -n 100000000 -r 100000 -q >> "$3" 2>&1; echo "LOAD RESTARTED" >> "$3"; sleep 0.2; done' \
  "$BASE" "$LC" "$P" "$OUT/dashboard-load.txt" &
LOAD=$!
sleep 3
ops_before=$(for p in 0 1 2; do redis-cli -p $((BASE + p)) INFO stats | tr -d '\r' | awk -F: '/^total_commands_processed/{print $2}'; done | paste -sd+ | bc)
t0=$(date +%s.%N)
echo "## First render under load"
echo
echo "| page | median ms | max ms |"
echo "|---|---:|---:|"
for page in / /shard /charts /keys /slowlog /modules /vectors /ops /users; do
  ts=()
  for k in 1 2 3 4 5; do
    ts+=("$(curl -s -b "$JAR" -o /dev/null -w '%{time_total}' "$HTTP$page")")
  done
  printf '%s\n' "${ts[@]}" | sort -n | awk -v p="$page" '{a[NR]=$1*1000} END {printf "| %s | %.1f | %.1f |\n", p, a[3], a[5]}'
done
t1=$(date +%s.%N)
ops_after=$(for p in 0 1 2; do redis-cli -p $((BASE + p)) INFO stats | tr -d '\r' | awk -F: '/^total_commands_processed/{print $2}'; done | paste -sd+ | bc)
echo
echo "Load during the fetches: $(echo "($ops_after - $ops_before) / ($t1 - $t0)" | bc) commands/s over the 3 nodes (redis-benchmark --cluster -t set,get -c $LC -P $P; counted from total_commands_processed, which includes the dashboard's own commands). Load average: $(cut -d' ' -f1-3 /proc/loadavg)."
echo
# 1b. First contentful paint in chromium, same load still running.
if [[ ${DASH_PAINT:-1} != 0 ]] && { command -v chromium >/dev/null || command -v chromium-browser >/dev/null; }; then
  (cd "$ROOT" && go build -o "$OUT/dashpaint" ./bench/dashpaint)
  echo "## First contentful paint in chromium under load"
  echo
  t0=$(date +%s.%N)
  ops_before=$(for p in 0 1 2; do redis-cli -p $((BASE + p)) INFO stats | tr -d '\r' | awk -F: '/^total_commands_processed/{print $2}'; done | paste -sd+ | bc)
  "$OUT/dashpaint" -base "$HTTP" -rounds "${DASH_PAINT_ROUNDS:-5}" || echo "(dashpaint failed)"
  t1=$(date +%s.%N)
  ops_after=$(for p in 0 1 2; do redis-cli -p $((BASE + p)) INFO stats | tr -d '\r' | awk -F: '/^total_commands_processed/{print $2}'; done | paste -sd+ | bc)
  echo
  echo "Load during the paints: $(echo "($ops_after - $ops_before) / ($t1 - $t0)" | bc) commands/s over the 3 nodes (the same redis-benchmark). Load average: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
else
  echo "(first contentful paint skipped: DASH_PAINT=0 or no chromium)"
  echo
fi
kill -- -"$LOAD" 2>/dev/null || true
wait "$LOAD" 2>/dev/null || true
LOAD=
restarts=$(grep -c "LOAD RESTARTED" "$OUT/dashboard-load.txt" || true)
((restarts == 0)) || { echo "(the load's redis-benchmark was restarted $restarts times: a leader moved under it)"; echo; }
# 2. Throughput with and without an open page.
poll() { while true; do curl -s -b "$JAR" -o /dev/null "$HTTP/?fragment=1"; sleep 5; done; }
# run prints the SET/s of one redis-benchmark, or "failed" (its output
# is kept in bench/out/dashboard-run.txt).
run() {
  local v
  v=$( (redis-benchmark --cluster -h 127.0.0.1 -p "$BASE" -t set -c 50 -P "$P" -n "$N" -r 100000 -q 2>&1 || true) | tee -a "$OUT/dashboard-run.txt" | tr '\r' '\n' | awk '/requests per second/{v=$2} END{print v}')
  echo "${v:-failed}"
}
: > "$OUT/dashboard-run.txt"
echo "## Throughput with and without an open overview page"
echo
echo "| round | without (SET/s) | with (SET/s) | load avg |"
echo "|---|---:|---:|---|"
without=(); with=()
for r in $(seq 1 "$ROUNDS"); do
  a=$(run)
  poll & POLL=$!
  b=$(run)
  kill "$POLL" 2>/dev/null; wait "$POLL" 2>/dev/null || true; POLL=
  [[ $a != failed && $b != failed ]] && { without+=("$a"); with+=("$b"); }
  echo "| $r | $a | $b | $(cut -d' ' -f1-3 /proc/loadavg) |"
done
ma=$(printf '%s\n' "${without[@]}" | sort -n | awk '{a[NR]=$1} END{print (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2}')
mb=$(printf '%s\n' "${with[@]}" | sort -n | awk '{a[NR]=$1} END{print (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2}')
echo
echo "Median without: $ma SET/s; with: $mb SET/s; difference $(echo "scale=1; ($mb - $ma) * 100 / $ma" | bc)% (redis-benchmark --cluster -t set -c 50 -P $P -n $N -r 100000, alternating)."

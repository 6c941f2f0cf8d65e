#!/usr/bin/env bash
# bench/regions-procs.sh — what shipping costs the primary region's write
# path, with the two regions as separate processes (make bench-regions-procs).
#
# One primary node and one secondary node (single-node regions, real
# region link over loopback), redis-benchmark SET closed loop on the
# primary, rounds alternating between:
#   alone     the secondary is stopped (the primary ships nothing);
#   attached  the secondary runs and pulls, at normal priority: on this
#             machine it takes its CPU (its own Raft log, fsync and apply
#             of every write) from the same two cores as the primary;
#   idle      the secondary runs and pulls under SCHED_IDLE (chrt --idle):
#             it gets only CPU the primary and the load generator leave
#             (but on a 2-CPU machine it still shares caches and cores);
#   sink      a null secondary (bench/regionsink) pulls over the real
#             region link and discards the entries: the primary serves
#             every pull (reads its log, encodes and sends the entries)
#             exactly as for a real secondary, whose own log and apply
#             would run on machines of its own. This is the primary's
#             cost of shipping, apart from the secondary's work.
# Per round: throughput, the primary's CPU per write (/proc, user+system),
# the secondary's, and the time the secondary then takes to drain its lag
# to 0 entries after the load stops.
#
# Usage:   make bench-regions-procs          (REGIONS_N, REGIONS_ROUNDS)
# Output:  markdown on stdout and in bench/out/regions-procs.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
OUT=$HERE/out
N=${REGIONS_N:-2000000}
ROUNDS=${REGIONS_ROUNDS:-2}
CAIRN=${CAIRN_BIN:-$ROOT/bin/cairn}
SECRET=bench-regions-secret
mkdir -p "$OUT"
TMP=$(mktemp -d)

for tool in redis-benchmark redis-cli python3 chrt awk; do
    command -v "$tool" >/dev/null || { echo "regions-procs bench: $tool not found" >&2; exit 1; }
done
[[ -x $CAIRN ]] || { echo "regions-procs bench: $CAIRN not built (make build)" >&2; exit 1; }
(cd "$ROOT" && go build -o "$TMP/regionsink" ./bench/regionsink) || { echo "regions-procs bench: building bench/regionsink failed" >&2; exit 1; }

. "$HERE/idle.sh"

log() { printf '[regions-procs %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

PP=$(free_port) PL=$(free_port) PR=$(free_port)
SP=$(free_port) SL=$(free_port) SR=$(free_port)
PPID_=0 SPID=0 KPID=0
SINK=$TMP/regionsink
cleanup() {
    local p
    for p in "$PPID_" "$SPID" "$KPID"; do ((p)) && kill -9 "$p" 2>/dev/null; done
    true
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

cpu_s() { awk '{printf "%.3f", ($14 + $15) / 100}' "/proc/$1/stat"; } # user+system seconds
info() { redis-cli -h 127.0.0.1 -p "$1" info regions 2>/dev/null | tr -d '\r'; }
field() { sed -n "s/^$2://p" <<<"$1" | head -1; }

start_primary() {
    mkdir -p "$TMP/p"
    "$CAIRN" --bind 127.0.0.1 --port "$PP" --dir "$TMP/p" --raft-addr "127.0.0.1:$PR" --loglevel warn \
        --region r1 --region-role primary --region-secret "$SECRET" --region-addr "127.0.0.1:$PL" >>"$TMP/p.log" 2>&1 &
    PPID_=$!
}
start_secondary() { # start_secondary [idle]
    mkdir -p "$TMP/s"
    local pre=()
    [[ ${1:-} == idle ]] && pre=(chrt --idle 0)
    "${pre[@]}" "$CAIRN" --bind 127.0.0.1 --port "$SP" --dir "$TMP/s" --raft-addr "127.0.0.1:$SR" --loglevel warn \
        --region r2 --region-role secondary --region-secret "$SECRET" --region-addr "127.0.0.1:$SL" \
        --region-primary "127.0.0.1:$PL" >>"$TMP/s.log" 2>&1 &
    SPID=$!
}
# term PID: SIGTERM the process (none if 0) and wait for it.
term() {
    (($1)) || return 0
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}
stop_secondary() {
    term "$SPID"
    SPID=0
}
start_sink() {
    "$SINK" -primary "127.0.0.1:$PL" -secret "$SECRET" -status "$TMP/sink.status" >>"$TMP/sink.log" 2>&1 &
    KPID=$!
}
stop_sink() {
    term "$KPID"
    KPID=0
    rm -f "$TMP/sink.status"
}
# seconds_until TIMEOUT_S CHECK...: runs CHECK every 50 ms until it
# succeeds and prints the seconds that took; fails after TIMEOUT_S.
seconds_until() {
    local limit=$1 t0 i
    shift
    t0=$(date +%s.%N)
    for i in $(seq $((limit * 20))); do
        if "$@"; then
            python3 -c "import sys;print(f'{float(sys.argv[2])-float(sys.argv[1]):.2f}')" "$t0" "$(date +%s.%N)"
            return 0
        fi
        sleep 0.05
    done
    return 1
}
# sink_caught_up: the null secondary holds the primary's applied index.
sink_caught_up() {
    local want got
    want=$(info "$PP" | sed -n 's/^region_shard_1:applied=\([0-9]*\).*/\1/p')
    got=$(sed -n 's/.*index=\([0-9]*\).*/\1/p' "$TMP/sink.status" 2>/dev/null || true)
    [[ -n $want && $got == "$want" ]]
}
# drained: the secondary's link is up and its lag is 0 entries.
drained() {
    local st
    st=$(info "$SP")
    [[ $(field "$st" region_lag_entries) == 0 ]] && grep -q 'link=up' <<<"$st"
}
wait_sink() { # wait_sink TIMEOUT_S: prints the seconds it took
    seconds_until "$1" sink_caught_up || die "the null secondary did not reach the primary's applied index within $1 s"
}
wait_drained() { # wait_drained TIMEOUT_S: prints the seconds it took
    seconds_until "$1" drained || die "secondary did not drain within $1 s: $(info "$SP" | tr '\n' ' ')"
}
wait_pong() {
    local i
    for i in $(seq 600); do
        [[ $(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null) == PONG ]] && return 0
        sleep 0.05
    done
    die "port $1 did not answer PING"
}

start_primary
wait_pong "$PP"
start_secondary
wait_pong "$SP"
wait_drained 60 >/dev/null
# Warm-up: the key space of the runs exists on both sides before timing.
redis-benchmark -h 127.0.0.1 -p "$PP" -t set -c 32 -P 16 -n 200000 -r 100000 -q >/dev/null 2>&1
wait_drained 120 >/dev/null
wait_idle "$PPID_" "$SPID" # a fresh node's background Lua compile (bench/idle.sh)
load0=$(cut -d' ' -f1-3 /proc/loadavg)

declare -a ROWS=()
run() { # run MODE
    local mode=$1 pc0 pc1 sc0=0 sc1=0 rps drain=- opid=0
    stop_sink
    case $mode in
    alone) stop_secondary ;;
    sink)
        stop_secondary
        start_sink
        wait_sink 60 >/dev/null
        ;;
    attached | idle)
        stop_secondary
        start_secondary "$([[ $mode == idle ]] && echo idle)"
        wait_pong "$SP"
        wait_drained 300 >/dev/null
        ;;
    esac
    pc0=$(cpu_s "$PPID_")
    ((SPID)) && opid=$SPID
    ((KPID)) && opid=$KPID
    ((opid)) && sc0=$(cpu_s "$opid")
    rps=$(redis-benchmark -h 127.0.0.1 -p "$PP" -t set -c 32 -P 16 -n "$N" -r 100000 --csv 2>/dev/null |
        tr -d '"\r' | awk -F, 'NR == 2 {print $2}')
    pc1=$(cpu_s "$PPID_")
    if ((SPID)); then
        sc1=$(cpu_s "$SPID")
        drain=$(wait_drained 600)
    elif ((KPID)); then
        sc1=$(cpu_s "$KPID")
        drain=$(wait_sink 600)
    fi
    ROWS+=("$mode|$rps|$(awk -v a="$pc0" -v b="$pc1" -v n="$N" 'BEGIN{printf "%.2f", (b-a)*1e6/n}')|$(awk -v a="$sc0" -v b="$sc1" -v n="$N" 'BEGIN{printf "%.2f", (b-a)*1e6/n}')|$drain")
    log "$mode: ${ROWS[-1]}"
}
for r in $(seq "$ROUNDS"); do
    run alone
    run sink
    run attached
    run idle
done
stop_sink
load1=$(cut -d' ' -f1-3 /proc/loadavg)

{
    echo "## Regions as separate processes: the primary's write path with and without a secondary (bench/regions-procs.sh, $(date -u +%F' '%H:%MZ))"
    echo
    echo "One primary and one secondary node (single-node regions, region link over loopback, no added delay), \`redis-benchmark -t set -c 32 -P 16 -n $N -r 100000\` on the primary; rounds in the order shown. Load average before: $load0; after: $load1. Cairn $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)."
    echo
    python3 "$HERE/regions_rounds.py" primary secondary alone=stopped \
        sink="null secondary pulling (entries discarded)" attached="pulling, normal priority" \
        idle="pulling, SCHED_IDLE" -- "${ROWS[@]}"
} | tee "$OUT/regions-procs.md"

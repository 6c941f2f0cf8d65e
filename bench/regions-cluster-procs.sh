#!/usr/bin/env bash
# bench/regions-cluster-procs.sh — what shipping costs the primary region's
# write path in the topology the issue describes: two regions of three
# node processes each (3 shards × 3 replicas per region), started with
# deploy/local-regions.sh (make bench-regions-cluster-procs).
#
# redis-benchmark --cluster SET closed loop on the primary region, rounds
# alternating between:
#   alone     region 2 is stopped (the primary ships nothing; its links
#             to region 2 are down and it must not wait for them);
#   attached  region 2 runs and pulls at normal priority: its three nodes
#             (their own Raft logs, fsyncs, replication and apply of every
#             write) take their CPU from the same two cores as region 1's;
#   idle      region 2 runs and pulls under SCHED_IDLE (chrt --idle on
#             every thread of its nodes): it gets only the CPU region 1 and
#             the load generator leave, which is what a region on machines
#             of its own costs the primary (the primary's side of shipping:
#             reading its logs, encoding and sending the entries), apart
#             from the caches and cores the two still share here.
# Per round: throughput, the primary region's CPU per write (its three
# processes, /proc user+system), region 2's, and the time region 2 then
# takes to drain its lag to 0 entries on every node.
#
# Usage:   make bench-regions-cluster-procs   (REGIONS_N, REGIONS_ROUNDS, REGIONS_P)
# Output:  markdown on stdout and in bench/out/regions-cluster-procs.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
OUT=$HERE/out
N=${REGIONS_N:-1000000}
ROUNDS=${REGIONS_ROUNDS:-2}
P=${REGIONS_P:-16}
CAIRN=${CAIRN_BIN:-$ROOT/bin/cairn}
mkdir -p "$OUT"
TMP=$(mktemp -d)

for tool in redis-benchmark redis-cli python3 chrt awk; do
    command -v "$tool" >/dev/null || { echo "regions-cluster-procs bench: $tool not found" >&2; exit 1; }
done
[[ -x $CAIRN ]] || { echo "regions-cluster-procs bench: $CAIRN not built (make build)" >&2; exit 1; }

. "$HERE/idle.sh"

log() { printf '[regions-cluster-procs %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# A base port with every port local-regions.sh derives from it free.
BASE=$(python3 - <<'EOF'
import random, socket
def free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); return True
    except OSError:
        return False
    finally:
        s.close()
for _ in range(200):
    b = random.randrange(21000, 30000, 10)
    ports = [b + 100 * r + n + off for r in range(2) for n in range(3)
             for off in (0, 2000, 3000, 10000, 20000, 20010, 20020)]
    if all(free(p) for p in ports):
        print(b); break
EOF
)
[[ -n $BASE ]] || die "no free base port"
export BIN=$CAIRN DIR=$TMP/regions BASE_PORT=$BASE REGIONS=2 NODES=3 SHARDS=3
LR=$ROOT/deploy/local-regions.sh
cleanup() {
    bash "$LR" clean >/dev/null 2>&1 || true
    rm -rf "$TMP"
}
trap cleanup EXIT

port() { echo $((BASE + 100 * ($1 - 1) + $2 - 1)); } # region, node
pids() { cat "$DIR"/r"$1"n*.pid 2>/dev/null; }
cpu_s() { # cpu_s PID...: user+system seconds of the processes
    local p s=0
    for p in "$@"; do s=$(awk -v s="$s" '{printf "%.3f", s + ($14 + $15) / 100}' "/proc/$p/stat"); done
    echo "$s"
}
info() { redis-cli -h 127.0.0.1 -p "$1" info regions 2>/dev/null | tr -d '\r'; }
# drained: every node of region 2 has its links up and a lag of 0 entries.
drained() {
    local n st
    for n in 1 2 3; do
        st=$(info "$(port 2 "$n")")
        [[ $(sed -n 's/^region_lag_entries://p' <<<"$st") == 0 ]] || return 1
        grep -q 'link=' <<<"$st" || return 1
        ! grep '^region_shard_.*link=' <<<"$st" | grep -qv 'link=up' || return 1
    done
}
wait_drained() { # wait_drained TIMEOUT_S: prints the seconds it took
    local t0 i
    t0=$(date +%s.%N)
    for i in $(seq $(($1 * 20))); do
        if drained; then
            python3 -c "import sys;print(f'{float(sys.argv[2])-float(sys.argv[1]):.2f}')" "$t0" "$(date +%s.%N)"
            return 0
        fi
        sleep 0.05
    done
    die "region 2 did not drain within $1 s: $(info "$(port 2 1)" | tr '\n' ' ')"
}
# settled: region 1's slot map (which node leads each shard) has not
# changed for 3 s. Right after a start, leaders move to their preferred
# nodes, and redis-benchmark --cluster gives up when a master's node ID
# changes under it.
settled() {
    local prev="" cur i same=0
    for i in $(seq 600); do
        cur=$(redis-cli -h 127.0.0.1 -p "$(port 1 1)" cluster slots 2>/dev/null | tr -d '\r' | tr '\n' ' ')
        if [[ -n $cur && $cur == "$prev" ]]; then
            same=$((same + 1))
            ((same >= 30)) && return 0
        else
            same=0
        fi
        prev=$cur
        sleep 0.1
    done
    die "region 1's slot map did not settle"
}
bench() { # bench N: redis-benchmark's SET ops/s on region 1
    local out try
    for try in 1 2 3; do
        settled
        out=$(redis-benchmark -h 127.0.0.1 -p "$(port 1 1)" --cluster -t set -c 50 -P "$P" -n "$1" -r 100000 --csv 2>/dev/null |
            tr -d '"\r' | awk -F, '$1 == "SET" {print $2}') || true
        [[ -n $out ]] && { echo "$out"; return 0; }
        log "redis-benchmark gave no result (try $try); again"
    done
    return 1
}

log "starting two regions of three nodes on base port $BASE"
bash "$LR" start >"$TMP/start.log" 2>&1 || die "local-regions.sh start failed: $(tail -5 "$TMP/start.log")"
wait_drained 120 >/dev/null
# Warm-up: the key space of the runs exists in both regions before timing.
bench 300000 >/dev/null
wait_drained 300 >/dev/null
# shellcheck disable=SC2046
wait_idle $(pids 1) $(pids 2) # a fresh node's background Lua compile (bench/idle.sh)
load0=$(cut -d' ' -f1-3 /proc/loadavg)

declare -a ROWS=()
run() { # run MODE
    local mode=$1 pc0 pc1 sc0=0 sc1=0 rps drain=- p
    bash "$LR" kill-region 2 >/dev/null
    case $mode in
    attached | idle)
        bash "$LR" restart-region 2 >/dev/null || die "region 2 did not restart"
        if [[ $mode == idle ]]; then
            for p in $(pids 2); do chrt -a --idle -p 0 "$p" >/dev/null; done
        fi
        wait_drained 300 >/dev/null
        ;;
    esac
    # shellcheck disable=SC2046
    pc0=$(cpu_s $(pids 1))
    # shellcheck disable=SC2046
    [[ $mode != alone ]] && sc0=$(cpu_s $(pids 2))
    rps=$(bench "$N")
    [[ -n $rps ]] || die "redis-benchmark gave no result"
    # shellcheck disable=SC2046
    pc1=$(cpu_s $(pids 1))
    if [[ $mode != alone ]]; then
        # shellcheck disable=SC2046
        sc1=$(cpu_s $(pids 2))
        drain=$(wait_drained 600)
    fi
    ROWS+=("$mode|$rps|$(awk -v a="$pc0" -v b="$pc1" -v n="$N" 'BEGIN{printf "%.2f", (b-a)*1e6/n}')|$(awk -v a="$sc0" -v b="$sc1" -v n="$N" 'BEGIN{printf "%.2f", (b-a)*1e6/n}')|$drain")
    log "$mode: ${ROWS[-1]}"
}
for r in $(seq "$ROUNDS"); do
    run alone
    run attached
    run idle
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)

{
    echo "## Two regions of three node processes: the primary's write path with and without the secondary region (bench/regions-cluster-procs.sh, $(date -u +%F' '%H:%MZ))"
    echo
    echo "deploy/local-regions.sh topology (each region 3 nodes, 3 shards × 3 replicas; region link over loopback, no added delay), \`redis-benchmark --cluster -t set -c 50 -P $P -n $N -r 100000\` on region 1; rounds in the order shown. Load average before: $load0; after: $load1. Cairn $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)."
    echo
    python3 "$HERE/regions_rounds.py" "region 1" "region 2" alone=stopped \
        attached="pulling, normal priority" idle="pulling, SCHED_IDLE" -- "${ROWS[@]}"
} | tee "$OUT/regions-cluster-procs.md"

#!/usr/bin/env bash
# bench/types.sh — the data-type benchmark: Cairn vs real redis-server for
# lists, sets, sorted sets, hashes and streams, memory per member, and the
# whole default `redis-benchmark -q` list. One run, one results document.
#
# Usage:   make bench-types                (also run by `make bench`)
#          TYPES_N=20000 TYPES_MEMBERS=100000 bash bench/types.sh   (smoke run)
#
# Environment knobs (defaults in brackets):
#   TYPES_N        requests per redis-benchmark test                 [200000]
#   TYPES_CLIENTS  connections (-c)                                   [50]
#   TYPES_MEMBERS  members loaded for the memory comparison           [1000000]
#   CAIRN_BIN      binary to test                                     [bin/cairn]
#
# What is measured (all on this machine, servers and client sharing it):
#  1. Writes: redis-benchmark -t lpush,lpop,sadd,spop,zadd,hset,xadd -c 50
#     -P 1 -r 100000 against Cairn and against redis-server with
#     --appendonly yes --appendfsync always (both durable before replying).
#     Servers are interleaved per test so machine noise hits both alike.
#  2. Reads: LRANGE_100 (redis-benchmark -t lrange, which also fills the
#     list), and ZRANGE key 0 99 / SMEMBERS key on a preloaded 100-member
#     zset / set (redis-benchmark with an explicit command), against Cairn
#     and redis-server without persistence.
#  3. Memory: TYPES_MEMBERS members loaded with redis-cli --pipe into
#     keys of 100 members each (HSET field/value, SADD, ZADD), for each type
#     on a fresh server; the figure is the growth of used_memory and of the
#     process RSS over the empty server, per member.
#  4. Acceptance: the full default `redis-benchmark -q` test list against
#     Cairn (every test must run; the rps of each is listed).
#
# Output: markdown on stdout and in bench/out/types.md; raw CSVs and logs in
# bench/out/types-raw/.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
OUT=$HERE/out
RAW=$OUT/types-raw
N=${TYPES_N:-200000}
CLIENTS=${TYPES_CLIENTS:-50}
MEMBERS=${TYPES_MEMBERS:-1000000}
CAIRN=${CAIRN_BIN:-$ROOT/bin/cairn}
mkdir -p "$RAW"
TMP=$(mktemp -d)

for tool in redis-server redis-benchmark redis-cli python3 awk; do
    command -v "$tool" >/dev/null || { echo "types bench: $tool not found" >&2; exit 1; }
done
[[ -x $CAIRN ]] || { echo "types bench: $CAIRN not built (make build)" >&2; exit 1; }

log() { printf '[types-bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

declare -A PID=() PORT=()
cleanup() {
    local p
    for p in "${PID[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    for p in "${PID[@]}"; do wait "$p" 2>/dev/null || true; done
    cp "$TMP"/*.log "$RAW/" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

STOP_CLEANS=1 # each test starts from an empty data dir
. "$HERE/servers.sh"

# bench NAME FILE args... — run redis-benchmark, keep its CSV.
bench() {
    local n=$1 f=$2; shift 2
    redis-benchmark -h 127.0.0.1 -p "${PORT[$n]}" -c "$CLIENTS" -n "$N" --csv "$@" \
        </dev/null >"$RAW/$f.csv" 2>"$RAW/$f.err" || { cat "$RAW/$f.err" >&2; die "redis-benchmark failed: $n $f"; }
}
# rps FILE PREFIX — rps of the CSV row whose test name starts with PREFIX
rps() { tr -d '\r"' <"$RAW/$1.csv" | awk -F, -v p="$2" 'index($1, p) == 1 {print $2; exit}'; }
p99() { tr -d '\r"' <"$RAW/$1.csv" | awk -F, -v p="$2" 'index($1, p) == 1 {print $7; exit}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }

REV=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)
log "cairn $REV, $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p'), $(nproc) cores, n=$N c=$CLIENTS"

# ---------------------------------------------------------------- 1+2. throughput
start cairn cairn
start aof aof
start nopersist nopersist

declare -A R=() P=()
WRITES=(lpush lpop sadd spop zadd hset xadd)
for t in "${WRITES[@]}"; do
    for s in cairn aof; do
        if [[ $t == xadd ]]; then
            # redis-benchmark 7.0 has no xadd test: the command 7.2's uses.
            bench "$s" "$s-$t" -P 1 xadd mystream '*' myfield 01234567890123456789
            R[$s,$t]=$(rps "$s-$t" "xadd")
            P[$s,$t]=$(p99 "$s-$t" "xadd")
        else
            bench "$s" "$s-$t" -t "$t" -r 100000 -P 1
            R[$s,$t]=$(rps "$s-$t" "${t^^}")
            P[$s,$t]=$(p99 "$s-$t" "${t^^}")
        fi
        log "$(printf '%-9s %-6s %10s ops/s p99 %s ms' "$s" "$t" "${R[$s,$t]}" "${P[$s,$t]}")"
    done
done

# Reads: 100-member zset and set, then LRANGE_100.
for s in cairn nopersist; do
    cli "$s" del bench:z bench:s >/dev/null
    args_z=() args_s=()
    for i in $(seq 0 99); do args_z+=("$i" "member:$i"); args_s+=("member:$i"); done
    cli "$s" zadd bench:z "${args_z[@]}" >/dev/null
    cli "$s" sadd bench:s "${args_s[@]}" >/dev/null
    bench "$s" "$s-zrange" -P 1 zrange bench:z 0 99
    bench "$s" "$s-smembers" -P 1 smembers bench:s
    bench "$s" "$s-lrange" -t lrange -P 1
    R[$s,zrange]=$(rps "$s-zrange" "zrange")
    R[$s,smembers]=$(rps "$s-smembers" "smembers")
    R[$s,lrange]=$(rps "$s-lrange" "LRANGE_100")
    for t in zrange smembers lrange; do log "$(printf '%-9s %-8s %10s ops/s' "$s" "$t" "${R[$s,$t]}")"; done
done
stop cairn; stop aof; stop nopersist

# ---------------------------------------------------------------- 3. memory
# gen TYPE COUNT — RESP for COUNT members in keys of 100 members.
gen() {
    awk -v type="$1" -v n="$2" 'BEGIN {
        for (k = 0; k * 100 < n; k++) {
            m = (n - k * 100 < 100) ? n - k * 100 : 100
            key = sprintf("mem:%07d", k)
            if (type == "hash") { argc = 2 + 2 * m; cmd = "HSET" }
            else if (type == "zset") { argc = 2 + 2 * m; cmd = "ZADD" }
            else { argc = 2 + m; cmd = "SADD" }
            printf "*%d\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", argc, length(cmd), cmd, length(key), key
            for (i = 0; i < m; i++) {
                f = sprintf("field:%d", i)
                if (type == "hash") { v = sprintf("v%d", k + i); printf "$%d\r\n%s\r\n$%d\r\n%s\r\n", length(f), f, length(v), v }
                else if (type == "zset") { sc = sprintf("%d", i); printf "$%d\r\n%s\r\n$%d\r\n%s\r\n", length(sc), sc, length(f), f }
                else { printf "$%d\r\n%s\r\n", length(f), f }
            }
        }
    }'
}
# Cairn's heap is used_memory_go_heap (its used_memory is the accounted
# dataset that maxmemory limits); Redis has only used_memory.
used() { cli "$1" info memory | tr -d '\r' | awk -F: '$1 == "used_memory" {u = $2} $1 == "used_memory_go_heap" {h = $2} END {print (h != "" ? h : u)}'; }
rss() { awk '/^VmRSS:/ {print $2 * 1024}' "/proc/${PID[$1]}/status"; }
declare -A MU=() MR=()
for type in hash set zset; do
    gen "$type" "$MEMBERS" >"$TMP/$type.resp"
    for s in cairn nopersist; do
        start "$s" "$( [[ $s == cairn ]] && echo cairn || echo nopersist )"
        sleep 1
        u0=$(used "$s"); r0=$(rss "$s")
        redis-cli -h 127.0.0.1 -p "${PORT[$s]}" --pipe <"$TMP/$type.resp" >"$RAW/load-$s-$type.txt" 2>&1 ||
            die "load $type into $s failed"
        sleep 2
        cli "$s" memory purge >/dev/null 2>&1 || true
        u1=$(used "$s"); r1=$(rss "$s")
        MU[$s,$type]=$(awk -v a="$u1" -v b="$u0" -v n="$MEMBERS" 'BEGIN {printf "%.1f", (a - b) / n}')
        MR[$s,$type]=$(awk -v a="$r1" -v b="$r0" -v n="$MEMBERS" 'BEGIN {printf "%.1f", (a - b) / n}')
        log "$(printf 'memory %-9s %-5s used %s B/member, rss %s B/member' "$s" "$type" "${MU[$s,$type]}" "${MR[$s,$type]}")"
        stop "$s"
    done
done

# ---------------------------------------------------------------- 4. acceptance
start cairn cairn
redis-benchmark -h 127.0.0.1 -p "${PORT[cairn]}" -q -n "$((N / 4))" -c "$CLIENTS" --csv \
    </dev/null >"$RAW/default-list.csv" 2>"$RAW/default-list.err" || die "default redis-benchmark list failed"
stop cairn

# ---------------------------------------------------------------- report
{
    echo "# Cairn data-type benchmark"
    echo
    echo "Commit $REV, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores; redis-benchmark -c $CLIENTS -n $N -P 1."
    echo
    echo "| test | Cairn ops/s | Cairn p99 ms | Redis ops/s | Redis p99 ms | ratio | target |"
    echo "|---|---:|---:|---:|---:|---:|---|"
    for t in "${WRITES[@]}"; do
        echo "| ${t^^} | ${R[cairn,$t]} | ${P[cairn,$t]} | ${R[aof,$t]} (AOF always) | ${P[aof,$t]} | $(ratio "${R[cairn,$t]}" "${R[aof,$t]}") | ≥ 1.0 |"
    done
    for t in lrange zrange smembers; do
        name=$t; [[ $t == lrange ]] && name="LRANGE_100"; [[ $t == zrange ]] && name="ZRANGE 0 99 (100 members)"; [[ $t == smembers ]] && name="SMEMBERS (100 members)"
        echo "| $name | ${R[cairn,$t]} | | ${R[nopersist,$t]} (no persistence) | | $(ratio "${R[cairn,$t]}" "${R[nopersist,$t]}") | ≥ 0.8 |"
    done
    echo
    echo "Memory, $MEMBERS members in keys of 100 (growth over the empty server, bytes per member):"
    echo
    echo "| type | Cairn used_memory_go_heap | Redis used_memory | ratio | Cairn RSS | Redis RSS | ratio | target |"
    echo "|---|---:|---:|---:|---:|---:|---:|---|"
    for type in hash set zset; do
        echo "| $type | ${MU[cairn,$type]} | ${MU[nopersist,$type]} | $(ratio "${MU[cairn,$type]}" "${MU[nopersist,$type]}") | ${MR[cairn,$type]} | ${MR[nopersist,$type]} | $(ratio "${MR[cairn,$type]}" "${MR[nopersist,$type]}") | ≤ 2.5 |"
    done
    echo
    echo "Default \`redis-benchmark -q\` list against Cairn (n=$((N / 4))): every test ran."
    echo
    echo "| test | ops/s |"
    echo "|---|---:|"
    tr -d '\r"' <"$RAW/default-list.csv" | awk -F, 'NR > 1 {printf "| %s | %s |\n", $1, $2}'
} | tee "$OUT/types.md"

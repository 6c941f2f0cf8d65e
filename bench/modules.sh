#!/usr/bin/env bash
# bench/modules.sh — the Wasm function benchmark: Cairn FCALL against Cairn's
# own GET/SET and against redis-server 7.0 running the equivalent Lua
# (EVALSHA and FCALL of a Lua library), in one run on this machine.
#
# Usage:   make bench-modules
#          MODULES_N=20000 bash bench/modules.sh     (smoke run)
#
# Environment knobs (defaults in brackets):
#   MODULES_N        requests per redis-benchmark test (Go-module tests run N/5) [100000]
#   MODULES_CLIENTS  connections (-c)                                          [50]
#   CAIRN_BIN        binary to test                                            [bin/cairn]
#   MODULES_ROUNDS   interleaved rounds of the targets' pairs                  [3]
#
# What is measured:
#  1. Throughput (redis-benchmark -P 1, rps and p50 latency): Cairn GET and
#     SET; FCALL of a trivial function (WAT fixture `ping`), FCALL_RO of the
#     same, FCALL with one write (WAT `incr`: INCR), FCALL_RO with one GET
#     and FCALL with one SET through the Go exec module (Go guests pay Go's
#     runtime set-up per call); redis-server (no persistence, and
#     AOF-always for the writes, as Cairn is durable) running EVALSHA of
#     "return 1", GET and SET scripts and FCALL of the same as a Lua library;
#     Cairn EVALSHA of the same three scripts (EVALSHA_RO for the GET) on its
#     Lua interpreter, itself a Wasm module in the sandbox (-n N/5).
#  2. Load time: FUNCTION LOAD of the WAT fixture, the C example and the Go
#     ratelimit example on a fresh server (cold compilation cache), then the
#     same Go module again under another name on a server whose cache holds it
#     (warm), and Redis's FUNCTION LOAD of the Lua library.
#
# Output: markdown on stdout and in bench/out/modules.md; raw CSVs in
# bench/out/modules-raw/.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
OUT=$HERE/out
RAW=$OUT/modules-raw
N=${MODULES_N:-100000}
GON=$((N / 5))
CLIENTS=${MODULES_CLIENTS:-50}
CAIRN=${CAIRN_BIN:-$ROOT/bin/cairn}
mkdir -p "$RAW"
TMP=$(mktemp -d)

for tool in redis-server redis-benchmark redis-cli python3 awk go; do
    command -v "$tool" >/dev/null || { echo "modules bench: $tool not found" >&2; exit 1; }
done
[[ -x $CAIRN ]] || { echo "modules bench: $CAIRN not built (make build)" >&2; exit 1; }

log() { printf '[modules-bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

declare -A PID=() PORT=()
cleanup() {
    local p
    for p in "${PID[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    for p in "${PID[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT

. "$HERE/servers.sh"

# bench NAME FILE N args... — one redis-benchmark test with an explicit command.
bench() {
    local n=$1 f=$2 count=$3; shift 3
    redis-benchmark -h 127.0.0.1 -p "${PORT[$n]}" -c "$CLIENTS" -n "$count" -P 1 --csv "$@" \
        </dev/null >"$RAW/$f.csv" 2>"$RAW/$f.err" || { cat "$RAW/$f.err" >&2; die "redis-benchmark failed: $n $f"; }
    if grep -q '^(error)\|ERR' "$RAW/$f.err" 2>/dev/null; then die "$f: errors: $(head -3 "$RAW/$f.err")"; fi
}
row() { tr -d '\r"' <"$RAW/$1.csv" | awk -F, 'NR == 2 {print $2, $5}'; } # rps p50
# ms NAME FILE -- time one FUNCTION LOAD of FILE's bytes (payload) in ms.
load_ms() {
    local n=$1 payload=$2 t0 t1 out
    t0=$(date +%s%N)
    out=$(cli "$n" -x FUNCTION LOAD REPLACE <"$payload")
    t1=$(date +%s%N)
    [[ $out == ERR* ]] && die "load $payload: $out"
    echo $(( (t1 - t0) / 1000000 ))
}

REV=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)
log "cairn $REV, $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p'), $(nproc) cores, n=$N c=$CLIENTS"

# Payloads: the WAT fixture, the C example, the Go modules.
log "building the Go modules (GOOS=wasip1)"
for m in exec:modules/testdata/exec ratelimit:modules/examples/ratelimit; do
    (cd "$ROOT" && GOOS=wasip1 GOARCH=wasm go build -trimpath -buildmode=c-shared -o "$TMP/${m%%:*}.wasm" "./${m#*:}")
done
mkpayload() { { printf '#!wasm name=%s\n' "$1"; cat "$2"; } >"$TMP/$1.payload"; }
mkpayload wat "$ROOT/modules/testdata/test.wasm"
mkpayload c "$ROOT/modules/testdata/c_incr.wasm"
mkpayload exec "$TMP/exec.wasm"
mkpayload ratelimit "$TMP/ratelimit.wasm"
mkpayload ratelimit2 "$TMP/ratelimit.wasm"
LUA='#!lua name=bench
redis.register_function{function_name="ping", callback=function(keys, args) return 1 end, flags={"no-writes"}}
redis.register_function{function_name="get", callback=function(keys, args) return redis.call("GET", keys[1]) end, flags={"no-writes"}}
redis.register_function("set", function(keys, args) return redis.call("SET", keys[1], args[1]) end)'
printf '%s' "$LUA" >"$TMP/lua.payload"

# ---------------------------------------------------------------- 2. load time
start cairn cairn
declare -A L=()
L[wat]=$(load_ms cairn "$TMP/wat.payload")
L[c]=$(load_ms cairn "$TMP/c.payload")
L[go]=$(load_ms cairn "$TMP/ratelimit.payload")
cli cairn FUNCTION DELETE ratelimit >/dev/null
L[gowarm]=$(load_ms cairn "$TMP/ratelimit2.payload")
L[exec]=$(load_ms cairn "$TMP/exec.payload")
start nopersist nopersist
start aof aof
L[lua]=$(load_ms nopersist "$TMP/lua.payload")
cli aof -x FUNCTION LOAD <"$TMP/lua.payload" >/dev/null
log "load ms: wat ${L[wat]} c ${L[c]} go cold ${L[go]} go warm ${L[gowarm]} lua ${L[lua]}"

# ---------------------------------------------------------------- 1. throughput
cli cairn SET k v >/dev/null
cli nopersist SET k v >/dev/null
cli aof SET k v >/dev/null
declare -A R=()
run() { # run KEY NAME COUNT command...
    local key=$1 n=$2 count=$3; shift 3
    bench "$n" "$key" "$count" "$@"
    R[$key]=$(row "$key")
    log "$(printf '%-22s %s' "$key" "${R[$key]}")"
}
SHA1=$(cli nopersist SCRIPT LOAD "return 1")
SHA_GET=$(cli nopersist SCRIPT LOAD "return redis.call('GET', KEYS[1])")
SHA_SET=$(cli nopersist SCRIPT LOAD "return redis.call('SET', KEYS[1], ARGV[1])")
cli aof SCRIPT LOAD "return redis.call('SET', KEYS[1], ARGV[1])" >/dev/null
# The same scripts on Cairn (the SHA1s are the same; SCRIPT LOAD goes
# through Cairn's log and waits for its interpreter, compiled at start).
cli cairn SCRIPT LOAD "return 1" >/dev/null
cli cairn SCRIPT LOAD "return redis.call('GET', KEYS[1])" >/dev/null
cli cairn SCRIPT LOAD "return redis.call('SET', KEYS[1], ARGV[1])" >/dev/null

run cairn-get cairn "$N" GET k
run cairn-set cairn "$N" SET k v
run cairn-fcall-trivial cairn "$N" FCALL ping 0
run cairn-fcallro-trivial cairn "$N" FCALL_RO ping 0
run cairn-fcall-incr cairn "$N" FCALL incr 1 n
run cairn-c-incr cairn "$N" FCALL cincr 1 n
run cairn-go-get cairn "$GON" FCALL_RO exec_ro 1 k GET k
run cairn-go-set cairn "$GON" FCALL exec 1 k SET k v
run cairn-go-ratelimit cairn "$GON" FCALL ratelimit 1 rl 1000000000 1000000000
run cairn-evalsha-trivial cairn "$GON" EVALSHA "$SHA1" 0
run cairn-evalsharo-get cairn "$GON" EVALSHA_RO "$SHA_GET" 1 k
run cairn-evalsha-set cairn "$GON" EVALSHA "$SHA_SET" 1 k v
# The targets' pairs again, interleaved, MODULES_ROUNDS times: a ratio of
# two rows measured a minute apart moves with the machine (SET's own rate
# moved 27k-31k between runs on a quiet machine), so each ratio below also
# comes from rows run back to back, and the median of the rounds is given.
ROUNDS=${MODULES_ROUNDS:-3}
for ((i = 1; i <= ROUNDS; i++)); do
    run "r$i-get" cairn "$N" GET k
    run "r$i-fcallro-trivial" cairn "$N" FCALL_RO ping 0
    run "r$i-set" cairn "$N" SET k v
    run "r$i-fcall-incr" cairn "$N" FCALL incr 1 n
    run "r$i-c-incr" cairn "$N" FCALL cincr 1 n
    run "r$i-fcall-trivial" cairn "$N" FCALL ping 0
done
run redis-get nopersist "$N" GET k
run redis-set nopersist "$N" SET k v
run redis-evalsha-trivial nopersist "$N" EVALSHA "$SHA1" 0
run redis-evalsha-get nopersist "$N" EVALSHA "$SHA_GET" 1 k
run redis-evalsha-set nopersist "$N" EVALSHA "$SHA_SET" 1 k v
run redis-fcall-trivial nopersist "$N" FCALL ping 0
run redis-fcallro-trivial nopersist "$N" FCALL_RO ping 0
run redis-fcall-get nopersist "$N" FCALL_RO get 1 k
run redis-fcall-set nopersist "$N" FCALL set 1 k v
run redis-aof-set aof "$N" SET k v
run redis-aof-evalsha-set aof "$N" EVALSHA "$SHA_SET" 1 k v
run redis-aof-fcall-set aof "$N" FCALL set 1 k v

rps() { echo "${R[$1]}" | awk '{print $1}'; }
p50() { echo "${R[$1]}" | awk '{print $2}'; }
ratio() { awk -v a="$(rps "$1")" -v b="$(rps "$2")" 'BEGIN { if (b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }
us() { awk -v r="$(rps "$1")" -v c="$CLIENTS" 'BEGIN { if (r + 0 == 0) print "n/a"; else printf "%.0f", c * 1e6 / r }'; }

{
echo "## Wasm functions (bench/modules.sh, $(date -u +%Y-%m-%d), cairn $REV)"
echo
echo "redis-benchmark -P 1 -c $CLIENTS -n $N (Go-module rows -n $GON), $(nproc) cores shared with the servers,"
echo "load average $(cut -d' ' -f1-3 /proc/loadavg). redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p'):"
echo "no persistence unless marked AOF (appendfsync always; Cairn fsyncs every write through Raft)."
echo
echo "Rows marked (Go) and (Lua) ran -n $GON."
echo
echo "| test | Cairn rps | p50 ms | vs Cairn GET/SET | Redis rps | p50 ms |"
echo "|---|---|---|---|---|---|"
echo "| GET | $(rps cairn-get) | $(p50 cairn-get) | 1.00 | $(rps redis-get) | $(p50 redis-get) |"
echo "| SET | $(rps cairn-set) | $(p50 cairn-set) | 1.00 | $(rps redis-set) (AOF $(rps redis-aof-set)) | $(p50 redis-set) |"
echo "| FCALL trivial (WAT) / Redis EVALSHA \"return 1\" | $(rps cairn-fcall-trivial) | $(p50 cairn-fcall-trivial) | $(ratio cairn-fcall-trivial cairn-set) of SET | $(rps redis-evalsha-trivial) | $(p50 redis-evalsha-trivial) |"
echo "| FCALL_RO trivial (WAT) / Redis FCALL_RO Lua | $(rps cairn-fcallro-trivial) | $(p50 cairn-fcallro-trivial) | $(ratio cairn-fcallro-trivial cairn-get) of GET | $(rps redis-fcallro-trivial) | $(p50 redis-fcallro-trivial) |"
echo "| FCALL trivial / Redis FCALL Lua | | | | $(rps redis-fcall-trivial) | $(p50 redis-fcall-trivial) |"
echo "| FCALL one INCR (WAT) | $(rps cairn-fcall-incr) | $(p50 cairn-fcall-incr) | $(ratio cairn-fcall-incr cairn-set) of SET | | |"
echo "| FCALL one INCR (C) | $(rps cairn-c-incr) | $(p50 cairn-c-incr) | $(ratio cairn-c-incr cairn-set) of SET | | |"
echo "| FCALL_RO one GET (Go) / Redis EVALSHA, FCALL_RO Lua | $(rps cairn-go-get) | $(p50 cairn-go-get) | $(ratio cairn-go-get cairn-get) of GET | $(rps redis-evalsha-get), $(rps redis-fcall-get) | $(p50 redis-evalsha-get) |"
echo "| FCALL one SET (Go) / Redis EVALSHA, FCALL Lua | $(rps cairn-go-set) | $(p50 cairn-go-set) | $(ratio cairn-go-set cairn-set) of SET | $(rps redis-evalsha-set), $(rps redis-fcall-set) (AOF $(rps redis-aof-evalsha-set), $(rps redis-aof-fcall-set)) | $(p50 redis-evalsha-set) |"
echo "| EVALSHA \"return 1\" (Lua) / Redis EVALSHA | $(rps cairn-evalsha-trivial) | $(p50 cairn-evalsha-trivial) | $(ratio cairn-evalsha-trivial cairn-set) of SET | $(rps redis-evalsha-trivial) | $(p50 redis-evalsha-trivial) |"
echo "| EVALSHA_RO one GET (Lua) / Redis EVALSHA | $(rps cairn-evalsharo-get) | $(p50 cairn-evalsharo-get) | $(ratio cairn-evalsharo-get cairn-get) of GET | $(rps redis-evalsha-get) | $(p50 redis-evalsha-get) |"
echo "| EVALSHA one SET (Lua) / Redis EVALSHA | $(rps cairn-evalsha-set) | $(p50 cairn-evalsha-set) | $(ratio cairn-evalsha-set cairn-set) of SET | $(rps redis-evalsha-set) (AOF $(rps redis-aof-evalsha-set)) | $(p50 redis-evalsha-set) |"
echo "| FCALL ratelimit (Go: HMGET + HSET) | $(rps cairn-go-ratelimit) | $(p50 cairn-go-ratelimit) | $(ratio cairn-go-ratelimit cairn-set) of SET | | |"
echo
echo "Interleaved rounds (MODULES_ROUNDS=$ROUNDS; each round runs GET, FCALL_RO trivial, SET, FCALL incr (WAT), FCALL cincr (C), FCALL trivial, -n $N each):"
echo
echo "| ratio | $(for ((i = 1; i <= ROUNDS; i++)); do printf 'round %d | ' $i; done)median | target |"
echo "|---|$(for ((i = 1; i <= ROUNDS; i++)); do printf -- '---|'; done)---|---|"
pair() { # pair LABEL A B TARGET: per-round ratios of rows rI-A / rI-B, and their median
    local rs=() i
    for ((i = 1; i <= ROUNDS; i++)); do rs+=("$(ratio "r$i-$2" "r$i-$3")"); done
    echo "| $1 | $(printf '%s | ' "${rs[@]}")$(printf '%s\n' "${rs[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : sprintf("%.2f", (a[NR/2]+a[NR/2+1])/2)}') | $4 |"
}
pair "FCALL_RO trivial (WAT) / GET" fcallro-trivial get "≥ 0.8"
pair "FCALL one INCR (WAT) / SET" fcall-incr set "≥ 0.9"
pair "FCALL one INCR (C) / SET" c-incr set "≥ 0.9"
pair "FCALL trivial (WAT) / SET" fcall-trivial set ""
echo
echo "FUNCTION LOAD (ms, one redis-cli round trip): WAT fixture ${L[wat]}, C example ${L[c]},"
echo "Go ratelimit (1.9 MB) cold ${L[go]}, Go module with a warm compilation cache ${L[gowarm]},"
echo "Go exec module ${L[exec]}; Redis Lua library ${L[lua]}."
} | tee "$OUT/modules.md"

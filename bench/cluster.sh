#!/usr/bin/env bash
# bench/cluster.sh — Cairn cluster benchmark: throughput of a 3-node cluster
# vs one real redis-server, failover RTO, online resharding. One run, one
# results document.
#
# Usage:   make bench-cluster                   (also run by `make bench`)
#          CLUSTER_BENCH_N=20000 CLUSTER_BENCH_KILLS=3 bash bench/cluster.sh   (smoke run)
#
# Environment knobs (defaults in brackets):
#   CLUSTER_BENCH_N          requests per test with -P 1            [BENCH_N or 100000]
#   CLUSTER_BENCH_N_P16      requests per test with -P 16           [5 x CLUSTER_BENCH_N]
#   CLUSTER_BENCH_CLIENTS    redis-benchmark connections (-c)       [50]
#   CLUSTER_BENCH_RANDOM     keyspace for redis-benchmark -r        [100000]
#   CLUSTER_BENCH_KILLS      failover: number of SIGKILLs           [10]
#   CLUSTER_BENCH_RESHARD_KEYS  resharding: keys preloaded          [300000]
#   CLUSTER_BENCH_REDIS_PORT first port tried for redis-server      [6391]
#   CLUSTER_BENCH_BASE_PORT  first client port tried for the cluster [7101]
#                            (node i: BASE+i-1, Raft on that +10000)
#
# Output: the results (markdown) on stdout and in bench/out/cluster.md. Raw
# data in bench/out/cluster-raw/: redis-benchmark CSV and stderr, the probe
# output, redis-server logs, and the Cairn node logs of each cluster
# (logs-bench/ for throughput + failover, logs-reshard/). The cluster's data
# directory is bench/out/cluster.
#
# What is measured and how (see bench/README.md, "Cluster benchmark"):
#  1. Redis reference: redis-server --appendonly yes --appendfsync always
#     --save '' runs redis-benchmark -t set; a second redis-server without
#     persistence runs -t set,get (the SET fills the keys; only GET is
#     reported). -c 50 -r 100000 -n N, -P 1 and -P 16, --csv.
#  2. Cairn: deploy/local-cluster.sh starts 3 nodes, 3 shards x 3 replicas;
#     once every node leads a shard (CLUSTER NODES shows slots on all three),
#     redis-benchmark --cluster -t set,get with the same settings.
#  3. Failover: bench/clusterprobe failover (see its doc comment): SIGKILL a
#     shard leader, time to the first acknowledged SET on each shard it led,
#     restart it, wait for leaders to return; a write load runs throughout
#     and is checked for lost writes at the end.
#  4. Resharding: on a fresh cluster, bench/clusterprobe reshard: preload,
#     16-goroutine SET/GET load, CLUSTER MOVESLOTS 2 0 5460, latency and
#     errors before/during the move, every key checked afterwards.
set -euo pipefail
# local-cluster.sh reads these; only this script sets them.
unset DIR NODES SHARDS REPLICAS BASE_PORT BIN BIND

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/idle.sh"
ROOT=$(dirname "$HERE")
OUT=$HERE/out
RAW=$OUT/cluster-raw
N1=${CLUSTER_BENCH_N:-${BENCH_N:-100000}}
N16=${CLUSTER_BENCH_N_P16:-$((N1 * 5))}
CLIENTS=${CLUSTER_BENCH_CLIENTS:-50}
RANDOM_KEYS=${CLUSTER_BENCH_RANDOM:-100000}
KILLS=${CLUSTER_BENCH_KILLS:-10}
RESHARD_KEYS=${CLUSTER_BENCH_RESHARD_KEYS:-300000}
REDIS_PORT0=${CLUSTER_BENCH_REDIS_PORT:-6391}
BASE_PORT0=${CLUSTER_BENCH_BASE_PORT:-7101}

CAIRN=$OUT/cairn
PROBE=$OUT/clusterprobe
LOCAL_CLUSTER=$ROOT/deploy/local-cluster.sh

for tool in redis-server redis-benchmark redis-cli go git awk; do
    command -v "$tool" >/dev/null || { echo "cluster bench: $tool not found" >&2; exit 1; }
done

log() { printf '[cluster-bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- processes
declare -A RPID=() RPORT=()
BG_PIDS=()

bg_forget() { # bg_forget PID — drop a reaped background pid from the cleanup list
    local keep=() p
    for p in "${BG_PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    BG_PIDS=("${keep[@]}")
}

# cluster_kill — SIGKILL every node whose pid file names a live process of
# our binary (the probe restarts nodes, so the pid files are the truth).
cluster_kill() {
    local i pid pids=()
    for i in 1 2 3; do
        [[ -f ${DIR:-/nonexistent}/node$i.pid ]] || continue
        pid=$(cat "$DIR/node$i.pid")
        if [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$CAIRN"; then
            kill -9 "$pid" 2>/dev/null || true
            pids+=("$pid")
        fi
        rm -f "$DIR/node$i.pid"
    done
    # Wait until they are gone (or zombies), so their ports are free.
    for pid in "${pids[@]}"; do
        for _ in $(seq 1 100); do
            [[ -e /proc/$pid ]] || break
            [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) == Z ]] && break
            sleep 0.05
        done
    done
}

exec {SAVED_OUT}>&1 {SAVED_ERR}>&2
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    exec 1>&"$SAVED_OUT" 2>&"$SAVED_ERR"
    local p
    for p in "${BG_PIDS[@]}" "${RPID[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    for p in "${BG_PIDS[@]}" "${RPID[@]}"; do wait "$p" 2>/dev/null || true; done
    cluster_kill
    # A `local-cluster.sh restart` run by the killed probe may start its
    # node a moment later: look once more.
    if [[ -n ${DIR:-} ]]; then sleep 0.5; cluster_kill; fi
    if ((rc != 0)); then
        echo "cluster bench: FAILED (exit $rc); logs in $RAW and $OUT/cluster/node*.log" >&2
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# run_fg CMD... — run a command as a background job and wait for it, so that
# a signal to this script runs the cleanup at once.
run_fg() {
    "$@" <&0 &
    local pid=$! rc=0
    BG_PIDS+=("$pid")
    wait "$pid" || rc=$?
    bg_forget "$pid"
    return "$rc"
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port_from() { # free_port_from P — first port >= P that nobody listens on
    local p=$1
    while port_busy "$p" || [[ $p == 6379 ]]; do p=$((p + 1)); done
    echo "$p"
}

# cluster_base_from P — first base port >= P (step 10) whose three client
# ports and three Raft ports are free.
cluster_base_from() {
    local b=$1 i ok
    for _ in $(seq 1 50); do
        ok=1
        for i in 0 1 2; do
            if port_busy $((b + i)) || port_busy $((b + i + 10000)); then ok=0; fi
            if ((b + i >= 7001 && b + i <= 7003)); then ok=0; fi
        done
        ((ok)) && { echo "$b"; return; }
        b=$((b + 10))
    done
    die "no free port range for the cluster from $1"
}

# ---------------------------------------------------------------- build
REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -n $(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null) ]] && REV+=" (with uncommitted changes)"
REDIS_VER=$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')
START_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
T_BEGIN=$(date +%s)
mkdir -p "$OUT"
rm -rf "$RAW"
mkdir -p "$RAW"
log "building $CAIRN and $PROBE"
(cd "$ROOT" && CGO_ENABLED=0 go build -o "$CAIRN" . && CGO_ENABLED=0 go build -o "$PROBE" ./bench/clusterprobe) ||
    die "build failed"
log "cairn $REV, redis $REDIS_VER, $(nproc) cores, load $START_LOAD"

declare -A RPS=() P50=() P99=() ERRS=()

# parse_csv FILE LABEL TEST — reads rps/p50/p99 of TEST into RPS[LABEL] etc.
parse_csv() {
    local f=$1 label=$2 up=${3^^} row
    row=$(tr -d '\r' <"$f" | grep "^\"$up\"," | tail -n 1 | tr -d '"') || die "no CSV row for $up in $f"
    # test,rps,avg,min,p50,p95,p99,max
    IFS=, read -r _ "RPS[$label]" _ _ "P50[$label]" _ "P99[$label]" _ <<<"$row"
}

# bench_run NAME PORT P N TESTS [--cluster] — one redis-benchmark run.
bench_run() {
    local name=$1 port=$2 p=$3 n=$4 tests=$5 extra=${6:-}
    local f="$RAW/$name-P$p"
    # shellcheck disable=SC2086
    if ! run_fg redis-benchmark $extra -h 127.0.0.1 -p "$port" -t "$tests" -c "$CLIENTS" -r "$RANDOM_KEYS" \
        -n "$n" -P "$p" --csv </dev/null >"$f.csv" 2>"$f.err"; then
        cat "$f.err" >&2
        die "redis-benchmark failed: $name -P $p"
    fi
    ERRS[$name,$p]=$(cat "$f.csv" "$f.err" | grep -ci 'error' || true)
}

# ---------------------------------------------------------------- 1. Redis
start_redis() { # start_redis NAME args...
    local name=$1; shift
    local dir=$OUT/cluster-redis/$name
    rm -rf "$dir"; mkdir -p "$dir"
    RPORT[$name]=$(free_port_from "$REDIS_PORT0")
    redis-server --port "${RPORT[$name]}" --bind 127.0.0.1 --dir "$dir" --daemonize no --save '' "$@" \
        >>"$RAW/redis-$name.log" 2>&1 &
    RPID[$name]=$!
    local i
    for i in $(seq 1 200); do
        [[ $(redis-cli -p "${RPORT[$name]}" ping 2>/dev/null) == PONG ]] && return 0
        kill -0 "${RPID[$name]}" 2>/dev/null || die "redis-server $name exited; see $RAW/redis-$name.log"
        sleep 0.05
    done
    die "redis-server $name does not answer on ${RPORT[$name]}"
}
stop_redis() {
    kill "${RPID[$1]}" 2>/dev/null || true
    wait "${RPID[$1]}" 2>/dev/null || true
    unset "RPID[$1]"
}

start_redis aof --appendonly yes --appendfsync always
start_redis nopersist --appendonly no
log "redis-server AOF-always on ${RPORT[aof]}, no-persist on ${RPORT[nopersist]}"
for p in 1 16; do
    n=$N1; ((p == 16)) && n=$N16
    bench_run redis-aof "${RPORT[aof]}" "$p" "$n" set
    parse_csv "$RAW/redis-aof-P$p.csv" "redis,set,$p" set
    bench_run redis-nopersist "${RPORT[nopersist]}" "$p" "$n" set,get
    parse_csv "$RAW/redis-nopersist-P$p.csv" "redis,get,$p" get
    for t in set get; do
        log "$(printf 'redis %-3s -P %-2s n=%-8s %10s ops/s  p50 %6s ms  p99 %7s ms' "$t" "$p" "$n" "${RPS[redis,$t,$p]}" "${P50[redis,$t,$p]}" "${P99[redis,$t,$p]}")"
    done
done
stop_redis aof
stop_redis nopersist
rm -rf "$OUT/cluster-redis"

# ---------------------------------------------------------------- 2. Cairn cluster
export NODES=3 SHARDS=3 REPLICAS=3 DIR=$OUT/cluster BIN=$CAIRN
# A node left over from an interrupted run (pid files in DIR) is killed.
cluster_kill
BASE_PORT=$(cluster_base_from "$BASE_PORT0")
export BASE_PORT
ADDRS="127.0.0.1:$BASE_PORT,127.0.0.1:$((BASE_PORT + 1)),127.0.0.1:$((BASE_PORT + 2))"

# cluster_start — fresh data dir, start, then wait (up to 20 s) until the
# leaders are spread: every shard led by its preferred node (after the
# bootstrap election they are handed over, which also moves slots between
# nodes in CLUSTER NODES), so no handover disturbs the measurement.
SPREAD_NOTE=""
cluster_start() {
    rm -rf "$DIR"
    run_fg bash "$LOCAL_CLUSTER" start </dev/null >&2 || die "local-cluster.sh start failed"
    if ! run_fg "$PROBE" wait -addrs "$ADDRS" -timeout 20s </dev/null; then
        log "WARNING: leaders not spread over the nodes after 20 s"
        SPREAD_NOTE=" WARNING: the leaders were not on their preferred nodes when the benchmark started."
    fi
    local n
    n=$(redis-cli -p "$BASE_PORT" cluster nodes 2>/dev/null | awk 'NF >= 9' | wc -l)
    if ((n != 3)); then
        log "WARNING: only $n nodes lead slots"
        SPREAD_NOTE+=" WARNING: only $n of 3 nodes led slots."
    fi
    redis-cli -p "$BASE_PORT" cluster nodes >&2
    # shellcheck disable=SC2046
    wait_idle $(cat "$DIR"/node*.pid)
}

save_node_logs() { # save_node_logs SUBDIR
    mkdir -p "$RAW/$1"
    cp "$DIR"/node*.log "$RAW/$1/" 2>/dev/null || true
}

log "starting the Cairn cluster on ports $BASE_PORT-$((BASE_PORT + 2)) (dir $DIR)"
cluster_start
for p in 1 16; do
    n=$N1; ((p == 16)) && n=$N16
    bench_run cairn "$BASE_PORT" "$p" "$n" set,get --cluster
    for t in set get; do
        parse_csv "$RAW/cairn-P$p.csv" "cairn,$t,$p" "$t"
        log "$(printf 'cairn %-3s -P %-2s n=%-8s %10s ops/s  p50 %6s ms  p99 %7s ms' "$t" "$p" "$n" "${RPS[cairn,$t,$p]}" "${P50[cairn,$t,$p]}" "${P99[cairn,$t,$p]}")"
    done
done

# ---------------------------------------------------------------- 3. failover
log "failover: $KILLS kills"
FO_RC=0
run_fg "$PROBE" failover -dir "$DIR" -addrs "$ADDRS" -script "$LOCAL_CLUSTER" -kills "$KILLS" \
    -md "$RAW/failover.md" </dev/null >"$RAW/failover.txt" 2> >(tee "$RAW/failover.log" >&2) || FO_RC=$?
((FO_RC == 0)) || die "clusterprobe failover failed (exit $FO_RC); see $RAW/failover.log"
cluster_kill
save_node_logs logs-bench

# ---------------------------------------------------------------- 4. resharding
log "resharding: fresh cluster, $RESHARD_KEYS keys"
cluster_start
RS_RC=0
run_fg "$PROBE" reshard -addrs "$ADDRS" -keys "$RESHARD_KEYS" -to 2 -start 0 -end 5460 \
    -md "$RAW/reshard.md" </dev/null >"$RAW/reshard.txt" 2> >(tee "$RAW/reshard.log" >&2) || RS_RC=$?
((RS_RC == 0)) || die "clusterprobe reshard failed (exit $RS_RC); see $RAW/reshard.log"
cluster_kill
save_node_logs logs-reshard

# ---------------------------------------------------------------- report
kv() { awk -v k="$2" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }' "$1"; }
FO_OK=$(kv "$RAW/failover.txt" ok)
RS_OK=$(kv "$RAW/reshard.txt" ok)
fmt_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }
T_END=$(date +%s)
RES=$OUT/cluster.md
{
    echo "# Cairn cluster benchmark"
    echo
    echo "$(date -u +%Y-%m-%dT%H:%MZ); commit \`$REV\`; $(nproc) cores, kernel $(uname -r); load avg at start $START_LOAD;" \
        "redis-server $REDIS_VER; run took $((T_END - T_BEGIN)) s."
    echo
    echo "## Throughput: 3-node Cairn cluster vs one redis-server"
    echo
    echo "Cairn: 3 nodes on this machine (\`deploy/local-cluster.sh\`), 3 shards x 3 replicas, each node leading one shard;" \
        "every write is committed to its shard's Raft log (fsynced on a majority of the replicas) before the reply." \
        "\`redis-benchmark --cluster -t set,get -c $CLIENTS -r $RANDOM_KEYS -n N -P P --csv\`, -n $N1 with -P 1 and $N16 with -P 16." \
        "Redis: one \`redis-server\`, the same settings without --cluster; for SET it runs with" \
        "\`--appendonly yes --appendfsync always\` (same durability), for GET without persistence (the in-memory ceiling)." \
        "Ratio = Cairn ops/s / Redis ops/s. With -P 16 the latency covers the whole pipelined batch.$SPREAD_NOTE"
    echo
    echo "| test | P | Cairn cluster ops/s | p50 / p99 ms | Redis ops/s (AOF always for SET, no persistence for GET) | Redis p50 / p99 ms | ratio |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    for p in 1 16; do
        for t in set get; do
            printf '| %s | %s | %.0f | %s / %s | %.0f | %s / %s | %s |\n' "${t^^}" "$p" \
                "${RPS[cairn,$t,$p]}" "${P50[cairn,$t,$p]}" "${P99[cairn,$t,$p]}" \
                "${RPS[redis,$t,$p]}" "${P50[redis,$t,$p]}" "${P99[redis,$t,$p]}" \
                "$(fmt_ratio "${RPS[cairn,$t,$p]}" "${RPS[redis,$t,$p]}")"
        done
    done
    errs=""
    for k in "${!ERRS[@]}"; do
        if ((ERRS[$k] > 0)); then errs+=" ${k//,/ -P }: ${ERRS[$k]} line(s);"; fi
    done
    if [[ -n $errs ]]; then
        echo
        echo "WARNING: redis-benchmark printed errors —$errs see bench/out/cluster-raw/*.err"
    fi
    echo
    cat "$RAW/failover.md"
    echo
    echo
    cat "$RAW/reshard.md"
    echo
    echo
    if [[ $FO_OK == 1 && $RS_OK == 1 ]]; then
        echo "Checks: all passed (no lost writes, every key read back, no stale reads)."
    else
        echo "**Checks FAILED:** failover ok=$FO_OK, resharding ok=$RS_OK (see the sections above and bench/out/cluster-raw/)."
    fi
} >"$RES"
cat "$RES"
log "done in $((T_END - T_BEGIN)) s; results in $RES"
[[ $FO_OK == 1 && $RS_OK == 1 ]] || exit 1

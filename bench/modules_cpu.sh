#!/usr/bin/env bash
# bench/modules_cpu.sh — a light version of bench/modules.sh's Cairn rows for
# before/after comparisons of one change: rps and p50 (redis-benchmark -c 50
# -P 1) and the node's CPU µs per request (utime+stime from /proc/PID/stat over
# the row / requests), which other load on a shared machine disturbs less than
# rps. No redis-server rows, no load times.
#
# Usage: bash bench/modules_cpu.sh BIN LABEL [N]     (Go and Lua rows: N/4)
#        ROWS='GET|EVALSHA' bash bench/modules_cpu.sh bin/cairn after 80000
# Run two binaries alternately (before, after, before, after) and compare.
set -euo pipefail
BIN=$1; LABEL=$2; N=${3:-20000}; GON=$((N/4))
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TMP=$(mktemp -d)
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
P=$(port)
"$BIN" --port "$P" --bind 127.0.0.1 --dir "$TMP/d" --raft-addr "127.0.0.1:$(port)" >"$TMP/log" 2>&1 &
PID=$!
trap 'kill -9 $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf $TMP' EXIT
cli() { redis-cli -h 127.0.0.1 -p "$P" "$@"; }
(cd "$ROOT" && GOOS=wasip1 GOARCH=wasm go build -trimpath -buildmode=c-shared -o "$TMP/exec.wasm" ./modules/testdata/exec)
for i in $(seq 600); do [[ $(cli ping 2>/dev/null) == PONG ]] && break; sleep 0.1; done
{ printf '#!wasm name=wat\n'; cat $ROOT/modules/testdata/test.wasm; } >$TMP/wat.payload
{ printf '#!wasm name=exec\n'; cat $TMP/exec.wasm; } >$TMP/exec.payload
cli -x FUNCTION LOAD REPLACE <$TMP/wat.payload >/dev/null
cli -x FUNCTION LOAD REPLACE <$TMP/exec.payload >/dev/null
cli SET k v >/dev/null
S1=$(cli SCRIPT LOAD "return 1"); SG=$(cli SCRIPT LOAD "return redis.call('GET', KEYS[1])"); SS=$(cli SCRIPT LOAD "return redis.call('SET', KEYS[1], ARGV[1])")
cpu() { awk '{print $14+$15}' /proc/$PID/stat; }
TCK=$(getconf CLK_TCK)
row() { local name=$1 n=$2; shift 2; [[ -n ${ROWS:-} && ! $name =~ $ROWS ]] && return 0
  local c0; c0=$(cpu)
  local out; out=$(redis-benchmark -h 127.0.0.1 -p $P -c 50 -n $n -P 1 --csv "$@" </dev/null 2>/dev/null | tr -d '\r"' | awk -F, 'NR==2{print $2, $5}')
  local c1; c1=$(cpu)
  printf '%s\t%-16s\t%s\t%s\tcpu-us/req %.1f\tload %s\n' "$LABEL" "$name" $out "$(awk -v a=$c0 -v b=$c1 -v n=$n -v t=$TCK 'BEGIN{printf "%.1f", (b-a)/t*1e6/n}')" "$(cut -d' ' -f1 /proc/loadavg)"
}
row GET $N GET k
row SET $N SET k v
row FCALL-ping $N FCALL ping 0
row FCALL_RO-ping $N FCALL_RO ping 0
row FCALL-incr $N FCALL incr 1 n
row Go-FCALL_RO-get $GON FCALL_RO exec_ro 1 k GET k
row Go-FCALL-set $GON FCALL exec 1 k SET k v
row EVALSHA-ret1 $GON EVALSHA $S1 0
row EVALSHA_RO-get $GON EVALSHA_RO $SG 1 k
row EVALSHA-set $GON EVALSHA $SS 1 k v

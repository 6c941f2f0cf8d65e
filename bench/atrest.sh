#!/usr/bin/env bash
# bench/atrest.sh — what encryption at rest costs: durable SET throughput
# of one node on a plaintext data dir and on one encrypted with
# --encryption-key-file, pipelined (-P 16) and not (-P 1), interleaved
# over rounds in the same run so machine noise hits both alike.
#
# Usage:   make bench-atrest      (builds bin/cairn, then runs this)
# Knobs:   ATREST_ROUNDS [3], ATREST_N requests per test [100000],
#          ATREST_C clients [50], CAIRN_BIN [bin/cairn]
# Output:  markdown on stdout and in bench/out/atrest.md
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${CAIRN_BIN:-bin/cairn}
ROUNDS=${ATREST_ROUNDS:-3}
N=${ATREST_N:-100000}
C=${ATREST_C:-50}
OUT=bench/out; mkdir -p "$OUT"
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# A fresh 256-bit key in the key file format (docs/encryption.md).
printf 'cairn-keys 1\nkey 1 %s\n' "$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')" >"$TMP/keys"
chmod 600 "$TMP/keys"

# run LABEL: prints "P1_RPS P16_RPS" for SET on one fresh node.
run() {
	local label=$1
	local port raft dir pid
	port=$(free_port); raft=$(free_port); dir=$TMP/data-$label
	rm -rf "$dir"
	local args=(--port "$port" --dir "$dir" --raft-addr "127.0.0.1:$raft" --loglevel warn --http-port 0)
	if [ "$label" = encrypted ]; then args+=(--encryption-key-file "$TMP/keys"); fi
	"$BIN" "${args[@]}" >"$TMP/$label.log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
	local p1 p16
	p1=$(redis-benchmark -p "$port" -c "$C" -n "$N" -P 1 -t set -d 64 -r 100000 --csv 2>/dev/null | awk -F, '/"SET"/{gsub(/"/,"",$2); print $2}')
	p16=$(redis-benchmark -p "$port" -c "$C" -n "$N" -P 16 -t set -d 64 -r 100000 --csv 2>/dev/null | awk -F, '/"SET"/{gsub(/"/,"",$2); print $2}')
	kill "$pid"; wait "$pid" 2>/dev/null || true
	echo "$p1 $p16"
}

median() { sort -n | awk '{a[NR]=$1} END{if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

: >"$TMP/plain"; : >"$TMP/encrypted"
for r in $(seq "$ROUNDS"); do
	for label in plain encrypted; do
		read -r a b < <(run "$label")
		echo "$a $b" >>"$TMP/$label"
		echo "round $r $label: SET -P 1 $a, -P 16 $b" >&2
	done
done
pct() { awk -v p="$1" -v e="$2" 'BEGIN{ if (p>0) printf "%+.1f%%", (e-p)/p*100; else print "n/a" }'; }
{
	echo "# Encryption at rest"
	echo
	echo "redis-benchmark -c $C -n $N -d 64 -r 100000 -t set against one durable node (fsync per Raft batch),"
	echo "plaintext data dir vs --encryption-key-file; $ROUNDS interleaved rounds; medians."
	echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs."
	echo
	echo "| data dir | SET -P 1 rps | SET -P 16 rps |"
	echo "|---|---|---|"
	p1p=$(cut -d' ' -f1 "$TMP/plain" | median); p16p=$(cut -d' ' -f2 "$TMP/plain" | median)
	p1e=$(cut -d' ' -f1 "$TMP/encrypted" | median); p16e=$(cut -d' ' -f2 "$TMP/encrypted" | median)
	echo "| plaintext | $p1p | $p16p |"
	echo "| encrypted (AES-256-GCM) | $p1e | $p16e |"
	echo "| difference | $(pct "$p1p" "$p1e") | $(pct "$p16p" "$p16e") |"
	echo
	echo "Target (issue 14): encryption costs at most 10% of durable SET throughput."
} | tee "$OUT/atrest.md"

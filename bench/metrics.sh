#!/usr/bin/env bash
# bench/metrics.sh — what metrics cost: GET/SET throughput of one durable
# node with the HTTP listener off (--http-port 0) and on while /metrics is
# scraped every second, interleaved over rounds so machine noise hits both
# alike; plus the scrape times seen meanwhile.
#
# Usage:   make bench-metrics      (builds bin/cairn, then runs this)
# Knobs:   METRICS_ROUNDS [3], METRICS_N requests per test [2000000],
#          CAIRN_BIN [bin/cairn]
# Output:  markdown on stdout and in bench/out/metrics.md
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${CAIRN_BIN:-bin/cairn}
ROUNDS=${METRICS_ROUNDS:-3}
N=${METRICS_N:-2000000}
OUT=bench/out; mkdir -p "$OUT"
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# run LABEL ARGS...: prints "SET_RPS GET_RPS" for one fresh node.
run() {
	local label=$1; shift
	local port raft http dir pid scr=""
	port=$(free_port); raft=$(free_port); http=$(free_port); dir=$TMP/data-$label
	rm -rf "$dir"
	local args=(--port "$port" --dir "$dir" --raft-addr "127.0.0.1:$raft" --loglevel warn)
	if [ "$label" = on ]; then args+=(--http-port "$http"); else args+=(--http-port 0); fi
	"$BIN" "${args[@]}" >"$TMP/$label.log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
	if [ "$label" = on ]; then
		( while true; do curl -s -o /dev/null -w '%{time_total}\n' "127.0.0.1:$http/metrics" >>"$TMP/scrapes"; sleep 1; done ) &
		scr=$!
	fi
	redis-benchmark -p "$port" -c 50 -n "$N" -P 16 -t set,get --csv 2>/dev/null |
		awk -F, '/"SET"/{gsub(/"/,"",$2); s=$2} /"GET"/{gsub(/"/,"",$2); g=$2} END{print s, g}'
	[ -n "$scr" ] && kill "$scr" 2>/dev/null
	kill "$pid"; wait "$pid" 2>/dev/null || true
}

median() { sort -n | awk '{a[NR]=$1} END{if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

: >"$TMP/off"; : >"$TMP/on"; : >"$TMP/scrapes"
for r in $(seq "$ROUNDS"); do
	# Alternate which case runs first: a run starts while the kernel may
	# still be writing back the previous run's log, which would otherwise
	# always slow the same case.
	order="off on"
	[ $((r % 2)) -eq 0 ] && order="on off"
	for label in $order; do
		read -r s g < <(run "$label")
		echo "$s $g" >>"$TMP/$label"
		echo "round $r $label: SET $s GET $g" >&2
	done
done
{
	echo "# Metrics overhead"
	echo
	echo "redis-benchmark -c 50 -n $N -P 16 -t set,get against one durable node; $ROUNDS interleaved rounds; medians."
	echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
	echo
	echo "| | SET rps | GET rps |"
	echo "|---|---|---|"
	for label in off on; do
		echo "| metrics $label | $(cut -d' ' -f1 "$TMP/$label" | median) | $(cut -d' ' -f2 "$TMP/$label" | median) |"
	done
	echo
	echo "Scrapes during the 'on' runs: $(wc -l <"$TMP/scrapes"), median $(median <"$TMP/scrapes") s, max $(sort -n "$TMP/scrapes" | tail -1) s."
} | tee "$OUT/metrics.md"

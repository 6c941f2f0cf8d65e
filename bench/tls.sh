#!/usr/bin/env bash
# bench/tls.sh — what TLS costs: GET and SET throughput on one durable
# Cairn node through its plaintext port and its TLS port (the same
# process), and on redis-server 7 (Debian's build has TLS) through its
# plaintext and TLS ports, with AOF fsync always so SET is durable on both.
# Clients present a certificate (tls-auth-clients yes, both servers).
#
# Usage:   make bench-tls      (builds bin/cairn, then runs this)
# Knobs:   TLS_N requests per test [100000], TLS_C clients [50],
#          TLS_P pipelines, space separated ["1 16"], CAIRN_BIN [bin/cairn]
# Output:  markdown on stdout and in bench/out/tls.md
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${CAIRN_BIN:-bin/cairn}
N=${TLS_N:-100000}
C=${TLS_C:-50}
PIPES=${TLS_P:-1 16}
OUT=bench/out; mkdir -p "$OUT"
TMP=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT

for tool in openssl redis-server redis-benchmark redis-cli; do
	command -v "$tool" >/dev/null || { echo "bench/tls.sh: $tool not installed" >&2; exit 1; }
done
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Certificates: a CA, a server certificate for 127.0.0.1, a client one.
(
	cd "$TMP"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=bench-ca \
		-keyout ca.key -out ca.crt 2>/dev/null
	for name in server client; do
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$name" \
			-keyout $name.key -out $name.csr 2>/dev/null
		printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' >$name.ext
		openssl x509 -req -in $name.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -extfile $name.ext \
			-out $name.crt 2>/dev/null
	done
)
TLSARGS=(--tls-cert-file "$TMP/server.crt" --tls-key-file "$TMP/server.key" --tls-ca-cert-file "$TMP/ca.crt")
CLIARGS=(--tls --cacert "$TMP/ca.crt" --cert "$TMP/client.crt" --key "$TMP/client.key")

wait_ping() { for _ in $(seq 300); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "server on $1 did not start" >&2; exit 1; }

CP=$(free_port); CT=$(free_port); RP=$(free_port); RT=$(free_port)
"$BIN" --port "$CP" --tls-port "$CT" "${TLSARGS[@]}" --dir "$TMP/cairn" --raft-addr "127.0.0.1:$(free_port)" \
	--http-port 0 --loglevel warn >"$TMP/cairn.log" 2>&1 &
PIDS+=($!)
redis-server --port "$RP" --tls-port "$RT" "${TLSARGS[@]}" --bind 127.0.0.1 --dir "$TMP" --save '' \
	--appendonly yes --appendfsync always --daemonize no >"$TMP/redis.log" 2>&1 &
PIDS+=($!)
wait_ping "$CP"; wait_ping "$RP"
redis-cli "${CLIARGS[@]}" -p "$CT" ping >/dev/null || { echo "Cairn TLS port not answering" >&2; cat "$TMP/cairn.log" >&2; exit 1; }

# bench PORT P [TLS]: prints "SET_RPS GET_RPS".
bench() {
	local port=$1 p=$2; shift 2
	redis-benchmark -p "$port" "$@" -c "$C" -n "$N" -P "$p" -r 100000 -t set,get --csv 2>/dev/null |
		awk -F, '/"SET"/{gsub(/"/,"",$2); s=$2} /"GET"/{gsub(/"/,"",$2); g=$2} END{print s, g}'
}

declare -A RES
for p in $PIPES; do
	RES[cairn-plain-$p]=$(bench "$CP" "$p"); echo "P$p cairn plain: ${RES[cairn-plain-$p]}" >&2
	RES[cairn-tls-$p]=$(bench "$CT" "$p" "${CLIARGS[@]}"); echo "P$p cairn tls: ${RES[cairn-tls-$p]}" >&2
	RES[redis-plain-$p]=$(bench "$RP" "$p"); echo "P$p redis plain: ${RES[redis-plain-$p]}" >&2
	RES[redis-tls-$p]=$(bench "$RT" "$p" "${CLIARGS[@]}"); echo "P$p redis tls: ${RES[redis-tls-$p]}" >&2
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2f", a/b; else print "-" }'; }
{
	echo "# TLS cost"
	echo
	echo "redis-benchmark -c $C -n $N -r 100000 -t set,get (SET durable on both: Cairn's Raft log, redis-server AOF fsync always);"
	echo "TLS clients present a certificate (tls-auth-clients yes). One Cairn process serves both of its ports, one redis-server both of its."
	echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs, shared machine)."
	echo
	echo "| pipeline | server | plain SET | TLS SET | TLS/plain SET | plain GET | TLS GET | TLS/plain GET |"
	echo "|---|---|---|---|---|---|---|---|"
	for p in $PIPES; do
		for s in cairn redis; do
			read -r ps pg <<<"${RES[$s-plain-$p]}"
			read -r ts tg <<<"${RES[$s-tls-$p]}"
			echo "| $p | $s | $ps | $ts | $(ratio "$ts" "$ps") | $pg | $tg | $(ratio "$tg" "$pg") |"
		done
	done
	echo
	echo "Target: Cairn TLS GET >= 0.8 x Cairn plaintext GET."
} | tee "$OUT/tls.md"

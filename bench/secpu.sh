#!/usr/bin/env bash
# bench/secpu.sh — what ACL checks and TLS cost in server CPU per command,
# a figure a busy shared machine disturbs far less than throughput: one
# durable Cairn node, redis-benchmark GET (keys filled first), and the
# server process's CPU time (its threads' run time, /proc/PID/task/*/schedstat) over each
# run divided by the commands run. Cases, interleaved ROUNDS times:
#   plain-default  plaintext port, user default (nopass: no ACL check)
#   plain-acl      plaintext port, user app (~key:* +get +set ...: every
#                  command checked)
#   tls-default    TLS port (client certificate), user default
# Usage:   make bench-secpu   (builds bin/cairn, then runs this)
# Knobs:   SECPU_N commands per run at -P 16 [1000000] (at -P 1: N/5),
#          SECPU_ROUNDS [3], SECPU_P ["1 16"], CAIRN_BIN [bin/cairn]
# Output:  markdown on stdout and in bench/out/secpu.md (medians)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${CAIRN_BIN:-bin/cairn}
N=${SECPU_N:-1000000}
ROUNDS=${SECPU_ROUNDS:-3}
PIPES=${SECPU_P:-1 16}
OUT=bench/out; mkdir -p "$OUT"
TMP=$(mktemp -d)
PID=
cleanup() { [[ -n "$PID" ]] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
for tool in openssl redis-benchmark redis-cli python3; do
	command -v "$tool" >/dev/null || { echo "bench/secpu.sh: $tool not installed" >&2; exit 1; }
done
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
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
CLIARGS=(--tls --cacert "$TMP/ca.crt" --cert "$TMP/client.crt" --key "$TMP/client.key")
CP=$(free_port); CT=$(free_port)
"$BIN" --port "$CP" --tls-port "$CT" --tls-cert-file "$TMP/server.crt" --tls-key-file "$TMP/server.key" \
	--tls-ca-cert-file "$TMP/ca.crt" --dir "$TMP/cairn" --raft-addr "127.0.0.1:$(free_port)" \
	--http-port 0 --loglevel warn >"$TMP/cairn.log" 2>&1 &
PID=$!
for _ in $(seq 300); do redis-cli -p "$CP" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$CP" ACL SETUSER app on '>app-pass' '~key:*' +get +set +ping +config +hello +auth >/dev/null
redis-benchmark -p "$CP" -c 50 -n 100000 -P 16 -r 100000 -t set -q >/dev/null 2>&1
# The ACL user's GETs must succeed (not NOPERM), or the comparison is void.
[[ "$(redis-cli -p "$CP" --user app --pass app-pass --no-auth-warning GET key:000000000001 2>&1)" != *NOPERM* ]] ||
	{ echo "bench/secpu.sh: user app may not GET" >&2; exit 1; }

# CPU nanoseconds of every thread of the server (schedstat: ns resolution,
# where utime+stime counts 10 ms ticks). Go keeps its threads.
cpu_ns() { cat /proc/"$PID"/task/*/schedstat | awk '{s += $1} END{printf "%.0f", s}'; }
# run CASE P: prints server CPU microseconds per GET.
run() {
	local c=$1 p=$2 n=$N args=()
	((p == 1)) && n=$((N / 5))
	case $c in
	plain-default) args=(-p "$CP") ;;
	plain-acl) args=(-p "$CP" --user app -a app-pass) ;;
	tls-default) args=(-p "$CT" "${CLIARGS[@]}") ;;
	esac
	local t0 t1
	t0=$(cpu_ns)
	redis-benchmark "${args[@]}" -c 50 -n "$n" -P "$p" -r 100000 -t get -q >/dev/null 2>&1
	t1=$(cpu_ns)
	awk -v t0="$t0" -v t1="$t1" -v n="$n" 'BEGIN{printf "%.3f", (t1 - t0) / 1e3 / n}'
}
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
declare -A R
for p in $PIPES; do
	for r in $(seq "$ROUNDS"); do
		for c in plain-default plain-acl tls-default; do
			v=$(run "$c" "$p")
			R[$c-$p]="${R[$c-$p]:-} $v"
			echo "P$p round $r $c: $v us/op" >&2
		done
	done
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ printf "%+.1f%%", (a / b - 1) * 100 }'; }
{
	echo "# Server CPU per GET: ACL check and TLS"
	echo
	echo "One durable Cairn node; redis-benchmark -c 50 -r 100000 -t get (keys filled first), $ROUNDS interleaved rounds, medians of the"
	echo "server process's CPU time (sum of its threads' /proc schedstat run time) per GET, in microseconds. Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)."
	echo
	echo "| pipeline | default user | ACL user (checked) | ACL cost | TLS (default user) | TLS cost | rounds (default / acl / tls) |"
	echo "|---|---:|---:|---:|---:|---:|---|"
	for p in $PIPES; do
		d=$(echo "${R[plain-default-$p]}" | median); a=$(echo "${R[plain-acl-$p]}" | median); t=$(echo "${R[tls-default-$p]}" | median)
		echo "| $p | $d | $a | $(ratio "$a" "$d") | $t | $(ratio "$t" "$d") | ${R[plain-default-$p]# } / ${R[plain-acl-$p]# } / ${R[tls-default-$p]# } |"
	done
} | tee "$OUT/secpu.md"

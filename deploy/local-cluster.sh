#!/usr/bin/env bash
# local-cluster.sh — run a Cairn cluster of local processes, in the spirit
# of Redis's utils/create-cluster.
#
#   deploy/local-cluster.sh start        build cairn if needed, start NODES nodes, wait until they serve
#   deploy/local-cluster.sh stop         stop every node (SIGTERM)
#   deploy/local-cluster.sh status       show each node and CLUSTER NODES
#   deploy/local-cluster.sh kill N       SIGKILL node N (1-based)
#   deploy/local-cluster.sh restart N    start node N again (after kill or stop)
#   deploy/local-cluster.sh clean        stop and delete all data and logs
#
# Environment: NODES (3), SHARDS (3), REPLICAS (3), BASE_PORT (7001; node i
# serves clients on BASE_PORT+i-1, its shard endpoints on that +100*N for
# shard N, and Raft on that +10000), DIR
# (./local-cluster), BIN (cairn binary; built with `go build` if unset),
# BIND (127.0.0.1), REQUIREPASS (none; needed when BIND is not loopback:
# protected mode, docs/tls.md), RAFT_SECRET (the nodes' shared --raft-secret;
# default: a random one made at the first start, kept in $DIR/raft-secret).
set -euo pipefail

NODES=${NODES:-3}
SHARDS=${SHARDS:-3}
REPLICAS=${REPLICAS:-3}
BASE_PORT=${BASE_PORT:-7001}
DIR=${DIR:-./local-cluster}
BIND=${BIND:-127.0.0.1}
REQUIREPASS=${REQUIREPASS:-}
# redis-cli (status, readiness) authenticates from the environment.
[[ -n "$REQUIREPASS" ]] && export REDISCLI_AUTH="$REQUIREPASS"
ROOT=$(cd "$(dirname "$0")/.." && pwd)

die() { echo "local-cluster: $*" >&2; exit 1; }

port() { echo $((BASE_PORT + $1 - 1)); }
raft() { echo "$BIND:$(($(port "$1") + 10000))"; }

peers() {
  local p="" i
  for i in $(seq 1 "$NODES"); do p+="${p:+,}$i=$(raft "$i")"; done
  echo "$p"
}

binary() {
  if [[ -n "${BIN:-}" ]]; then echo "$BIN"; return; fi
  local b="$DIR/cairn"
  if [[ ! -x "$b" || "$ROOT/go.mod" -nt "$b" || -n "$(find "$ROOT" -name '*.go' -newer "$b" -print -quit 2>/dev/null)" ]]; then
    mkdir -p "$DIR"
    (cd "$ROOT" && CGO_ENABLED=0 go build -o "$DIR/cairn.tmp" .) && mv "$DIR/cairn.tmp" "$b"
  fi
  echo "$b"
}

# raft_secret is the nodes' shared --raft-secret (passed in the environment,
# not on the command line).
raft_secret() {
  if [[ -n "${RAFT_SECRET:-}" ]]; then echo "$RAFT_SECRET"; return; fi
  local f="$DIR/raft-secret"
  if [[ ! -s "$f" ]]; then
    mkdir -p "$DIR"
    # Written aside and renamed: a reader never sees it half written.
    (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$f.$$" && mv "$f.$$" "$f")
  fi
  cat "$f"
}

pidfile() { echo "$DIR/node$1.pid"; }

running() {
  local f; f=$(pidfile "$1")
  [[ -f "$f" ]] && kill -0 "$(cat "$f")" 2>/dev/null
}

start_node() {
  local i=$1 bin=$2
  if running "$i"; then echo "node $i already running (pid $(cat "$(pidfile "$i")"))"; return; fi
  mkdir -p "$DIR/node$i"
  # Read before the background job: an expansion on the job's own line
  # runs inside it, so nodes started in a row would race to create it.
  local secret; secret=$(raft_secret)
  CAIRN_RAFT_SECRET="$secret" nohup "$bin" --node-id "$i" --peers "$(peers)" --shards "$SHARDS" --replicas "$REPLICAS" \
    --bind "$BIND" --port "$(port "$i")" --raft-addr "$(raft "$i")" --dir "$DIR/node$i" \
    ${REQUIREPASS:+--requirepass "$REQUIREPASS"} \
    >>"$DIR/node$i.log" 2>&1 &
  echo $! >"$(pidfile "$i")"
}

# ping answers PING on a port, with redis-cli if present, else bash's /dev/tcp.
ping() {
  if command -v redis-cli >/dev/null; then
    [[ "$(redis-cli -h "$BIND" -p "$1" ping 2>/dev/null)" == PONG ]]
  else
    (exec 3<>"/dev/tcp/$BIND/$1" && printf 'PING\r\n' >&3 && read -r -t 2 l <&3 && [[ "$l" == +PONG* ]]) 2>/dev/null
  fi
}

# serving: the node answers and reports every slot served.
serving() {
  command -v redis-cli >/dev/null || { ping "$1"; return; }
  redis-cli -h "$BIND" -p "$1" cluster info 2>/dev/null | grep -q '^cluster_state:ok'
}

wait_serving() {
  local i deadline=$((SECONDS + 90))
  for i in "$@"; do
    until serving "$(port "$i")"; do
      running "$i" || die "node $i exited; see $DIR/node$i.log"
      ((SECONDS < deadline)) || die "node $i not serving after 90s; see $DIR/node$i.log"
      sleep 0.2
    done
  done
}

cmd=${1:-}
case "$cmd" in
start)
  bin=$(binary)
  for i in $(seq 1 "$NODES"); do start_node "$i" "$bin"; done
  wait_serving $(seq 1 "$NODES")
  echo "cluster of $NODES nodes, $SHARDS shards x $REPLICAS replicas is serving:"
  for i in $(seq 1 "$NODES"); do echo "  node $i: $BIND:$(port "$i")  (log $DIR/node$i.log)"; done
  echo "try: redis-cli -c -p $BASE_PORT; redis-cli --cluster check $BIND:$((BASE_PORT + 100))"
  ;;
stop)
  for i in $(seq 1 "$NODES"); do
    if running "$i"; then kill "$(cat "$(pidfile "$i")")"; fi
  done
  for i in $(seq 1 "$NODES"); do
    for _ in $(seq 1 100); do running "$i" || break; sleep 0.1; done
    rm -f "$(pidfile "$i")"
  done
  echo "stopped"
  ;;
status)
  for i in $(seq 1 "$NODES"); do
    if running "$i"; then s="running pid $(cat "$(pidfile "$i")")"; else s="stopped"; fi
    echo "node $i  $BIND:$(port "$i")  $s"
  done
  for i in $(seq 1 "$NODES"); do
    if running "$i" && command -v redis-cli >/dev/null; then
      echo "shard endpoints (what cluster clients see, one role each):"
      redis-cli -h "$BIND" -p "$(port "$i")" cluster nodes 2>/dev/null || true
      break
    fi
  done
  ;;
kill)
  [[ -n "${2:-}" ]] || die "usage: $0 kill N"
  running "$2" || die "node $2 is not running"
  kill -9 "$(cat "$(pidfile "$2")")"
  for _ in $(seq 1 100); do running "$2" || break; sleep 0.05; done
  rm -f "$(pidfile "$2")"
  echo "node $2 killed"
  ;;
restart)
  [[ -n "${2:-}" ]] || die "usage: $0 restart N"
  if running "$2"; then
    kill "$(cat "$(pidfile "$2")")"
    for _ in $(seq 1 100); do running "$2" || break; sleep 0.1; done
  fi
  start_node "$2" "$(binary)"
  until ping "$(port "$2")"; do running "$2" || die "node $2 exited; see $DIR/node$2.log"; sleep 0.2; done
  echo "node $2 restarted on $BIND:$(port "$2")"
  ;;
clean)
  "$0" stop >/dev/null 2>&1 || true
  rm -rf "$DIR"
  echo "removed $DIR"
  ;;
*)
  sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
  ;;
esac

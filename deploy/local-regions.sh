#!/usr/bin/env bash
# local-regions.sh — run a multi-region Cairn deployment of local processes:
# region 1 is the primary, the others are read-only secondaries fed by
# asynchronous log shipping (package regions, issue 13).
#
#   deploy/local-regions.sh start             build cairn if needed, start every region, wait until each serves, print the ports
#   deploy/local-regions.sh stop              stop every node (SIGTERM)
#   deploy/local-regions.sh status            each node, and its INFO regions (role, lag per shard)
#   deploy/local-regions.sh kill-region R     SIGKILL every node of region R (1-based)
#   deploy/local-regions.sh restart-region R  start region R again (after kill-region or stop; an old
#                                             primary region replaced by a forced promotion rejoins
#                                             as a secondary by itself, its unshipped writes listed in
#                                             each node's region-discarded-*.txt)
#   deploy/local-regions.sh promote R         REGION PROMOTE on region R (planned switchover);
#                                             FORCE=1 for REGION PROMOTE FORCE (primary region lost)
#   deploy/local-regions.sh rebuild-region R  wipe region R's data and start it again as a secondary
#                                             of the region that is primary now (a region lost with its
#                                             data; after a forced promotion restart-region is enough)
#   deploy/local-regions.sh clean             stop and delete all data and logs
#
# Environment: REGIONS (2), NODES (3), SHARDS (3), BASE_PORT (7001): region r
# node n serves clients on BASE_PORT + 100*(r-1) + (n-1) (redis-cli -c); its
# region link listens on that + 3000, Raft on that + 10000, its shard
# endpoints on that + 20000 + 10*(shard-1), metrics on that + 2000.
# DIR (./local-regions), BIN (cairn binary; built with `go build` if unset),
# BIND (127.0.0.1), REGION_SECRET (the link secret).
#
# Each region is a Cairn cluster of NODES nodes and SHARDS shards (replicas:
# min(3, NODES)); every region has the same SHARDS, and the secondaries follow
# the primary's slot layout. NODES=1 runs single-node regions (no cluster
# mode; clients without -c). The roles a promotion leaves are kept in each
# node's region.state, so stop and restart-region keep them. With REGIONS > 2
# every secondary follows region 1; promote then only works with REGIONS=2
# (chained regions: regions/DESIGN.md).
set -euo pipefail

REGIONS=${REGIONS:-2}
NODES=${NODES:-3}
SHARDS=${SHARDS:-3}
BASE_PORT=${BASE_PORT:-7001}
DIR=${DIR:-./local-regions}
BIND=${BIND:-127.0.0.1}
REGION_SECRET=${REGION_SECRET:-local-regions-secret}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

die() { echo "local-regions: $*" >&2; exit 1; }

port() { echo $((BASE_PORT + 100 * ($1 - 1) + $2 - 1)); } # region, node
link() { echo "$BIND:$(($(port "$1" "$2") + 3000))"; }
raft() { echo "$BIND:$(($(port "$1" "$2") + 10000))"; }
# links R: every node's region link address of region R, comma separated.
links() {
  local n out=()
  for n in $(seq 1 "$NODES"); do out+=("$(link "$1" "$n")"); done
  (IFS=,; echo "${out[*]}")
}
peers() {
  local n out=()
  for n in $(seq 1 "$NODES"); do out+=("$n=$(raft "$1" "$n")"); done
  (IFS=,; echo "${out[*]}")
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

name() { echo "r$1n$2"; }
pidfile() { echo "$DIR/$(name "$1" "$2").pid"; }

running() {
  local f; f=$(pidfile "$1" "$2")
  [[ -f "$f" ]] && kill -0 "$(cat "$f")" 2>/dev/null
}

# start_node R N BIN [PRIMARY_REGION]: a region other than PRIMARY_REGION
# (default 1) starts as its secondary.
start_node() {
  local r=$1 n=$2 bin=$3 pr=${4:-1} role=primary extra=()
  if running "$r" "$n"; then echo "region $r node $n already running (pid $(cat "$(pidfile "$r" "$n")"))"; return; fi
  if ((r != pr)); then
    role=secondary
    extra=(--region-primary "$(links "$pr")")
  fi
  if ((NODES > 1)); then
    extra+=(--node-id "$n" --peers "$(peers "$r")" --raft-addr "$(raft "$r" "$n")" --shards "$SHARDS"
      --shard-ports $(($(port "$r" "$n") + 20000)) --shard-port-step 10 --region-peers "$(links "$r")")
  fi
  mkdir -p "$DIR/$(name "$r" "$n")"
  # --region-role and --region-primary are the first start's; a promotion's
  # outcome (region.state in the data directory) takes precedence.
  CAIRN_RAFT_SECRET="$REGION_SECRET-raft-r$r" nohup "$bin" --bind "$BIND" --port "$(port "$r" "$n")" --dir "$DIR/$(name "$r" "$n")" \
    --region "r$r" --region-role "$role" --region-secret "$REGION_SECRET" --region-addr "$(link "$r" "$n")" \
    "${extra[@]}" >>"$DIR/$(name "$r" "$n").log" 2>&1 &
  echo $! >"$(pidfile "$r" "$n")"
}

rcli() { redis-cli -h "$BIND" -p "$@"; }

# serving: the node answers INFO regions (and, in cluster mode, every slot
# is served); on a secondary every shard's link is up.
serving() {
  local info
  if ((NODES > 1)); then
    rcli "$1" cluster info 2>/dev/null | grep -q 'cluster_state:ok' || return 1
  fi
  info=$(rcli "$1" info regions 2>/dev/null | tr -d '\r') || return 1
  grep -q '^region_role:primary' <<<"$info" && return 0
  grep -q '^region_role:secondary' <<<"$info" || return 1
  grep -q '^region_shard_.*link=' <<<"$info" || return 1
  ! grep '^region_shard_.*link=' <<<"$info" | grep -qv 'link=up'
}

wait_serving() {
  local r n deadline=$((SECONDS + 120))
  for r in "$@"; do
    for n in $(seq 1 "$NODES"); do
      until serving "$(port "$r" "$n")"; do
        running "$r" "$n" || die "region $r node $n exited; see $DIR/$(name "$r" "$n").log"
        ((SECONDS < deadline)) || die "region $r node $n not serving after 120s; see $DIR/$(name "$r" "$n").log"
        sleep 0.2
      done
    done
  done
}

stop_region() {
  local r=$1 sig=${2:-TERM} n
  for n in $(seq 1 "$NODES"); do
    if running "$r" "$n"; then kill "-$sig" "$(cat "$(pidfile "$r" "$n")")"; fi
  done
  for n in $(seq 1 "$NODES"); do
    for _ in $(seq 1 100); do running "$r" "$n" || break; sleep 0.1; done
    rm -f "$(pidfile "$r" "$n")"
  done
}

start_region() {
  local r=$1 bin=$2 n
  for n in $(seq 1 "$NODES"); do start_node "$r" "$n" "$bin" "${3:-1}"; done
}

# primary_region: the region whose nodes report the primary role now.
primary_region() {
  local r
  for r in $(seq 1 "$REGIONS"); do
    if rcli "$(port "$r" 1)" info regions 2>/dev/null | tr -d '\r' | grep -q '^region_role:primary'; then echo "$r"; return; fi
  done
  return 1
}

C=()
if ((NODES > 1)); then C=(-c); fi

region_arg() {
  [[ "${1:-}" =~ ^[0-9]+$ ]] && (($1 >= 1 && $1 <= REGIONS)) || die "usage: $0 $cmd R (1..$REGIONS)"
}

cmd=${1:-}
case "$cmd" in
start)
  command -v redis-cli >/dev/null || die "redis-cli is needed"
  ((NODES >= 1 && SHARDS >= 1)) || die "NODES and SHARDS must be at least 1"
  if ((NODES == 1 && SHARDS != 1)); then
    echo "local-regions: NODES=1 runs single-node regions (one shard each); SHARDS=$SHARDS ignored" >&2
  fi
  bin=$(binary)
  for r in $(seq 1 "$REGIONS"); do start_region "$r" "$bin"; done
  wait_serving $(seq 1 "$REGIONS")
  echo "$REGIONS regions are serving ($NODES node(s) each$( ((NODES > 1)) && echo ", $SHARDS shards"))":
  for r in $(seq 1 "$REGIONS"); do
    role=$(rcli "$(port "$r" 1)" info regions | tr -d '\r' | sed -n 's/^region_role://p')
    ports=$(for n in $(seq 1 "$NODES"); do printf '%s ' "$(port "$r" "$n")"; done)
    echo "  region $r ($role): $BIND ports ${ports% }  links $(links "$r")  (logs $DIR/r${r}n*.log)"
  done
  echo "try: redis-cli ${C[*]} -p $(port 1 1) set k v; redis-cli ${C[*]} -p $(port 2 1) get k; redis-cli -p $(port 2 1) info regions"
  ;;
stop)
  for r in $(seq 1 "$REGIONS"); do stop_region "$r"; done
  echo "stopped"
  ;;
status)
  for r in $(seq 1 "$REGIONS"); do
    for n in $(seq 1 "$NODES"); do
      if running "$r" "$n"; then s="running pid $(cat "$(pidfile "$r" "$n")")"; else s="stopped"; fi
      echo "region $r node $n  $BIND:$(port "$r" "$n")  $s"
    done
    for n in $(seq 1 "$NODES"); do
      if running "$r" "$n"; then
        rcli "$(port "$r" "$n")" info regions 2>/dev/null | tr -d '\r' | grep -v '^#' | grep . | sed 's/^/    /' || true
        break
      fi
    done
  done
  ;;
kill-region)
  region_arg "${2:-}"
  stop_region "$2" KILL
  echo "region $2 killed"
  ;;
restart-region)
  region_arg "${2:-}"
  stop_region "$2"
  start_region "$2" "$(binary)"
  wait_serving "$2"
  echo "region $2 restarted on $BIND:$(port "$2" 1).."
  ;;
promote)
  region_arg "${2:-}"
  if [[ "${FORCE:-0}" == 1 ]]; then
    rcli "$(port "$2" 1)" region promote force
  else
    rcli "$(port "$2" 1)" region promote
  fi
  ;;
rebuild-region)
  region_arg "${2:-}"
  stop_region "$2"
  pr=$(primary_region) || die "no region answers as the primary"
  ((pr != $2)) || die "region $2 is the primary; promote another region first"
  for n in $(seq 1 "$NODES"); do rm -rf "${DIR:?}/$(name "$2" "$n")"; done
  start_region "$2" "$(binary)" "$pr"
  wait_serving "$2"
  echo "region $2 rebuilt as a secondary of region $pr"
  ;;
clean)
  "$0" stop >/dev/null 2>&1 || true
  rm -rf "$DIR"
  echo "removed $DIR"
  ;;
*)
  sed -n '2,34p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
  ;;
esac

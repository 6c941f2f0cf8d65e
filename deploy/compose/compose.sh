#!/usr/bin/env bash
# compose.sh — the docker compose topology of two Cairn regions
# (docker-compose.yml beside this script; make compose-up / compose-down).
#
#   deploy/compose/compose.sh up       build bin/cairn and bin/cairn-netns (static), the images
#                                      cairn:dev and cairn-netns:dev (FROM scratch, nothing pulled),
#                                      start, wait until every node serves, print the ports
#   deploy/compose/compose.sh build    only build the binaries and the images
#   deploy/compose/compose.sh down     remove the containers, networks and volumes
#   deploy/compose/compose.sh status   the containers, and each node's INFO regions
#   deploy/compose/compose.sh wait     wait until every running node serves
#   deploy/compose/compose.sh cut R        disconnect region R (1 or 2) from the link between regions
#   deploy/compose/compose.sh restore R    connect it again
#   deploy/compose/compose.sh kill-region R   docker kill every node of region R
#   deploy/compose/compose.sh start-region R  docker start region R's nodes again (after kill-region; an old
#                                      primary region rejoins a force-promoted one by itself as a secondary,
#                                      its unshipped writes saved in /data/region-discarded-*.txt of each node)
#   deploy/compose/compose.sh promote R    REGION PROMOTE on region R (FORCE=1: REGION PROMOTE FORCE)
#   deploy/compose/compose.sh rebuild-region R   remove region R's nodes and volumes, start them empty as
#                                      a secondary of the other region, wait until they serve (not
#                                      needed after a forced promotion: start-region; for a region lost
#                                      with its data)
#
# Environment: NODES (3: three nodes per region in cluster mode; 1: one
# node per region in single-node mode, the nodes rNn1 only), GO (go),
# SKIP_BUILD=1 (use the images as they are), WAIT_SECS (120),
# CAIRN_REGION_SECRET (the region link secret). Needs docker, the
# docker-compose tool (v1.29 is enough) and redis-cli.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FILE="$ROOT/deploy/compose/docker-compose.yml"
PROJECT=cairn-regions
NODES=${NODES:-3}
GO=${GO:-go}
WAIT_SECS=${WAIT_SECS:-120}

die() { echo "compose: $*" >&2; exit 1; }

case "$NODES" in
3) ;;
1)
  # Single-node regions: no cluster flags, region 2 follows r1n1's link.
  export CAIRN_R1_PEERS="" CAIRN_R2_PEERS="" CAIRN_R2_PRIMARY="r1:10001"
  ;;
*) die "NODES must be 3 or 1" ;;
esac

dc() { docker-compose -p "$PROJECT" -f "$FILE" "$@"; }

port() { echo $((7001 + 100 * ($1 - 1) + $2 - 1)); } # region, node

services() {
  local r n
  for r in 1 2; do
    echo "r$r"
    for n in $(seq 1 "$NODES"); do echo "r${r}n$n"; done
  done
}

build() {
  [[ "${SKIP_BUILD:-0}" == 1 ]] && return
  command -v docker >/dev/null || die "docker is needed"
  (cd "$ROOT" && CGO_ENABLED=0 "$GO" build -trimpath -o bin/cairn . &&
    CGO_ENABLED=0 "$GO" build -trimpath -o bin/cairn-netns ./deploy/compose/netns)
  docker build -q -f "$ROOT/deploy/Dockerfile" -t cairn:dev "$ROOT" >/dev/null
  docker build -q -f "$ROOT/deploy/compose/netns.Dockerfile" -t cairn-netns:dev "$ROOT" >/dev/null
}

rcli() { redis-cli -h 127.0.0.1 -p "$@"; }

# serving: the node answers INFO regions with its role; a secondary's links
# are up; in cluster mode the cluster also serves every slot.
serving() {
  local info
  info=$(rcli "$1" info regions 2>/dev/null | tr -d '\r') || return 1
  if [[ "$NODES" == 3 ]]; then
    rcli "$1" cluster info 2>/dev/null | tr -d '\r' | grep -q '^cluster_state:ok' || return 1
  fi
  grep -q '^region_role:primary' <<<"$info" && return 0
  grep -q '^region_role:secondary' <<<"$info" && grep -q 'link=up' <<<"$info" && ! grep -q 'link=down' <<<"$info"
}

running() { [[ "$(docker inspect -f '{{.State.Running}}' "cairn-$1" 2>/dev/null)" == true ]]; }

wait_serving() {
  local r n deadline=$((SECONDS + WAIT_SECS))
  for r in 1 2; do
    for n in $(seq 1 "$NODES"); do
      running "r${r}n$n" || continue
      until serving "$(port "$r" "$n")"; do
        running "r${r}n$n" || die "cairn-r${r}n$n exited; docker logs cairn-r${r}n$n"
        ((SECONDS < deadline)) || die "cairn-r${r}n$n not serving after ${WAIT_SECS}s; docker logs cairn-r${r}n$n"
        sleep 0.5
      done
    done
  done
}

cmd=${1:-}
case "$cmd" in
up)
  command -v docker >/dev/null || die "docker is needed"
  command -v docker-compose >/dev/null || die "the docker-compose tool is needed (Debian: apt-get install docker-compose)"
  command -v redis-cli >/dev/null || die "redis-cli is needed (Debian: redis-tools)"
  build
  dc up -d --no-build $(services)
  wait_serving
  echo "2 regions of $NODES node(s) are serving (compose project $PROJECT):"
  for r in 1 2; do
    role=$(rcli "$(port "$r" 1)" info regions | tr -d '\r' | sed -n 's/^region_role://p')
    for n in $(seq 1 "$NODES"); do
      p=$(port "$r" "$n")
      echo "  region r$r ($role) node $n: 127.0.0.1:$p  http://127.0.0.1:$((p + 2000))/  (container cairn-r${r}n$n)"
    done
  done
  c=""; [[ "$NODES" == 3 ]] && c="-c "
  echo "try: redis-cli ${c}-p 7001 set k v; redis-cli ${c}-p 7101 get k; redis-cli -p 7101 info regions"
  ;;
build)
  build
  ;;
down)
  dc down -v --remove-orphans
  ;;
status)
  dc ps
  for r in 1 2; do
    for n in $(seq 1 "$NODES"); do
      p=$(port "$r" "$n")
      echo "r${r}n$n 127.0.0.1:$p"
      rcli "$p" info regions 2>/dev/null | tr -d '\r' | grep -v '^#' | grep . | sed 's/^/    /' || echo "    (not answering)"
    done
  done
  ;;
wait)
  wait_serving
  ;;
rebuild-region)
  r=${2:-}
  [[ "$r" == 1 || "$r" == 2 ]] || die "usage: $0 $cmd 1|2"
  o=$((3 - r)) nodes=() vols=() links=()
  for n in $(seq 1 "$NODES"); do
    nodes+=("r${r}n$n") vols+=("${PROJECT}_r${r}n$n") links+=("r$o:$(($(port "$o" "$n") + 3000))")
  done
  dc rm -s -f "${nodes[@]}"
  docker volume rm "${vols[@]}" >/dev/null
  primary=$(IFS=,; echo "${links[*]}")
  export "CAIRN_R${r}_ROLE=secondary" "CAIRN_R${r}_PRIMARY=$primary"
  dc up -d --no-build "${nodes[@]}"
  wait_serving
  echo "region $r rebuilt as a secondary of region $o ($primary)"
  ;;
cut | restore | kill-region | start-region | promote)
  r=${2:-}
  [[ "$r" == 1 || "$r" == 2 ]] || die "usage: $0 $cmd 1|2"
  case "$cmd" in
  cut) docker network disconnect cairn-regions-link "cairn-r$r" && echo "region $r cut off from the link" ;;
  restore) docker network connect --alias "r$r" cairn-regions-link "cairn-r$r" && echo "region $r linked again" ;;
  kill-region) docker kill $(for n in $(seq 1 "$NODES"); do echo "cairn-r${r}n$n"; done) ;;
  start-region) docker start $(for n in $(seq 1 "$NODES"); do echo "cairn-r${r}n$n"; done) && wait_serving ;;
  promote)
    if [[ "${FORCE:-0}" == 1 ]]; then rcli "$(port "$r" 1)" region promote force; else rcli "$(port "$r" 1)" region promote; fi
    ;;
  esac
  ;;
*)
  sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
  ;;
esac

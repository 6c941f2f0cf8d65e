# bench/servers.sh — starting and stopping the servers a benchmark script
# compares (sourced, not run). The caller defines TMP (a scratch dir),
# CAIRN (the binary), die and the associative arrays PID and PORT.
#
#   start NAME cairn|aof|nopersist   a server on a free loopback port,
#                                    data in $TMP/NAME, log in $TMP/NAME.log
#   stop NAME                        SIGKILL it; its data dir stays, unless
#                                    STOP_CLEANS is set
#   cli NAME args...                 redis-cli against it

. "$(dirname "${BASH_SOURCE[0]}")/idle.sh"

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
cli() { local n=$1; shift; redis-cli -h 127.0.0.1 -p "${PORT[$n]}" "$@"; }
wait_ping() {
    local n=$1 i
    for i in $(seq 1200); do
        [[ $(cli "$n" ping 2>/dev/null) == PONG ]] && return 0
        kill -0 "${PID[$n]}" 2>/dev/null || die "$n exited; see $TMP/$n.log"
        sleep 0.05
    done
    die "$n did not answer PING"
}
start() { # start NAME cairn|aof|nopersist
    local n=$1 kind=$2
    PORT[$n]=$(free_port)
    mkdir -p "$TMP/$n"
    case $kind in
    cairn) "$CAIRN" --port "${PORT[$n]}" --bind 127.0.0.1 --dir "$TMP/$n" \
        --raft-addr "127.0.0.1:$(free_port)" >>"$TMP/$n.log" 2>&1 & ;;
    aof) redis-server --port "${PORT[$n]}" --bind 127.0.0.1 --dir "$TMP/$n" --save '' \
        --appendonly yes --appendfsync always >>"$TMP/$n.log" 2>&1 & ;;
    nopersist) redis-server --port "${PORT[$n]}" --bind 127.0.0.1 --dir "$TMP/$n" --save '' \
        --appendonly no >>"$TMP/$n.log" 2>&1 & ;;
    esac
    PID[$n]=$!
    wait_ping "$n"
    [[ $kind == cairn ]] && wait_idle "${PID[$n]}"
    return 0
}
stop() {
    local n=$1
    kill -9 "${PID[$n]}" 2>/dev/null || true
    wait "${PID[$n]}" 2>/dev/null || true
    unset "PID[$n]"
    if [[ -n ${STOP_CLEANS:-} ]]; then rm -rf "${TMP:?}/$n"; fi
}

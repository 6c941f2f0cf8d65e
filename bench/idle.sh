# bench/idle.sh — wait_idle (sourced, not run).
#
# A fresh Cairn node compiles its Lua interpreter in the background for
# the first seconds after it answers PING (about 2 s of CPU on a 2-core
# machine; a restart loads it from the data directory's cache in
# milliseconds). A measurement started then shares the CPU with that
# compile: bench/out/cpu-set-p1.prof once showed it as 37% of the node's
# CPU during SET -P 1. Benchmarks measure the steady state, so they wait
# for the node to go idle first.
#
#   wait_idle PID...   return once the processes together used less than
#                      5% of a core over 0.5 s, or after 30 s (with a
#                      warning on stderr)

cpu_ticks() { # cpu_ticks PID... — utime+stime summed, in clock ticks
    local p t=0
    for p in "$@"; do
        t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
    done
    echo "$t"
}

wait_idle() {
    local hz i a b
    hz=$(getconf CLK_TCK)
    a=$(cpu_ticks "$@")
    for i in $(seq 60); do
        sleep 0.5
        b=$(cpu_ticks "$@")
        # 5% of a core over 0.5 s
        if (((b - a) * 40 < hz)); then
            return 0
        fi
        a=$b
    done
    echo "wait_idle: pid(s) $* still busy after 30 s; measuring anyway" >&2
}

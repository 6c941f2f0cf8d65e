#!/usr/bin/env python3
"""Per-request latency probe used by bench/run.sh (snapshot-blocking figure).

  latprobe.py run PORT OUTFILE
      One connection, closed loop, no pipelining: alternately
      SET probe:<i%1000> <100 bytes> and GET probe:<i%1000>. Every request is
      logged as "<start_ns> <end_ns> <S|G>" (CLOCK_REALTIME, the clock of
      `date +%s%N`) until SIGTERM/SIGINT.

  latprobe.py window OUTFILE START_NS END_NS [START_NS END_NS ...]
      Summarise the requests whose [start, end] interval overlaps any of the
      windows (so a request that was stuck across a window edge counts):
      prints "count p50_ms p99_ms max_ms".
"""
import signal
import socket
import sys
import time


def run(port, out):
    stop = False

    def on_sig(*_):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_sig)
    signal.signal(signal.SIGINT, on_sig)
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = s.makefile("rb")
    val = b"p" * 100
    recs = []
    i = 0
    while not stop:
        key = b"probe:%d" % (i % 1000)
        if i % 2 == 0:
            req = b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$100\r\n%s\r\n" % (len(key), key, val)
        else:
            req = b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" % (len(key), key)
        t0 = time.time_ns()
        try:
            s.sendall(req)
            line = f.readline()
            if not line:
                break
            if line[:1] == b"$":
                n = int(line[1:-2])
                if n >= 0:
                    f.read(n + 2)
            elif line[:1] == b"-":
                sys.stderr.write("latprobe: server error: %r\n" % line)
        except (InterruptedError, OSError):
            if stop:
                break
            raise
        t1 = time.time_ns()
        recs.append((t0, t1, "S" if i % 2 == 0 else "G"))
        i += 1
    with open(out, "w") as o:
        for t0, t1, k in recs:
            o.write("%d %d %s\n" % (t0, t1, k))


def window(path, bounds):
    wins = list(zip(bounds[0::2], bounds[1::2]))
    lat = []
    with open(path) as f:
        for ln in f:
            t0, t1, _ = ln.split()
            t0, t1 = int(t0), int(t1)
            if any(t1 >= a and t0 <= b for a, b in wins):
                lat.append((t1 - t0) / 1e6)
    if not lat:
        print("0 nan nan nan")
        return
    lat.sort()

    def pct(p):
        return lat[min(len(lat) - 1, int(p / 100.0 * len(lat)))]

    print("%d %.3f %.3f %.3f" % (len(lat), pct(50), pct(99), lat[-1]))


if __name__ == "__main__":
    if sys.argv[1] == "run":
        run(int(sys.argv[2]), sys.argv[3])
    elif sys.argv[1] == "window":
        if len(sys.argv) < 5 or len(sys.argv) % 2 == 0:
            sys.exit("latprobe.py window: need START_NS END_NS pairs")
        window(sys.argv[2], [int(a) for a in sys.argv[3:]])
    else:
        sys.exit("usage: latprobe.py run PORT OUT | window OUT START_NS END_NS [...]")

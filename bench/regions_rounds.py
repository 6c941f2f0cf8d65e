#!/usr/bin/env python3
"""Print the rounds table and the means line of the regions benchmarks
(bench/regions-procs.sh, bench/regions-cluster-procs.sh).

Usage: regions_rounds.py PRIMARY SECONDARY MODE=LABEL... -- ROW...

PRIMARY and SECONDARY name the two sides in the column headers ("primary",
"region 1"); each MODE=LABEL says how a round's mode reads in the table, in
the order the means line lists them ("alone" is the baseline and must be
one); each ROW is "mode|ops/s|primary CPU µs/write|secondary CPU µs/write|drain s".
"""
import sys


def main(argv):
    sep = argv.index("--")
    primary, secondary, *labels = argv[:sep]
    rows = [r.split("|") for r in argv[sep + 1:]]
    label = dict(m.split("=", 1) for m in labels)
    print(f"| round | {secondary} | SET ops/s | {primary} CPU µs/write | {secondary} CPU µs/write | {secondary} drain after the run (s) |")
    print("|---|---|---:|---:|---:|---:|")
    for i, (mode, rps, pc, sc, drain) in enumerate(rows, 1):
        print(f"| {i} | {label[mode]} | {rps} | {pc} | {'-' if mode == 'alone' else sc} | {drain} |")
    print()

    def mean(mode, i):
        v = [float(r[i]) for r in rows if r[0] == mode]
        return sum(v) / len(v)

    a, ca = mean("alone", 1), mean("alone", 2)
    parts = [f"{label[m]} {mean(m, 1) / a:.2f}× ({primary}'s CPU per write {mean(m, 2) / ca:.2f}×)"
             for m in label if m != "alone" and any(r[0] == m for r in rows)]
    print(f"Means, throughput against {secondary} {label['alone']}: " + "; ".join(parts) + ".")


if __name__ == "__main__":
    main(sys.argv[1:])

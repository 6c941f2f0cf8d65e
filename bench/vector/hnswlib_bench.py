#!/usr/bin/python3
"""hnswlib's row of the vector-engine benchmark.

Reads the dataset that `go run ./bench/vector -dump FILE` writes and prints
markdown rows in the same columns: build rate, index memory per vector,
recall@10 and single-thread QPS at each ef (rates per CPU-second of the
process, like the Go side) (M=16, ef_construction=200,
one thread).

    python3 bench/vector/hnswlib_bench.py FILE [ef,ef,...]
"""
import os
import sys
import tempfile
import time

import hnswlib
import numpy as np


def main():
    path = sys.argv[1]
    efs = [int(x) for x in (sys.argv[2] if len(sys.argv) > 2 else "10,20,50,100,200").split(",")]
    raw = open(path, "rb").read()
    n, dim, nq, k = np.frombuffer(raw[:16], dtype="<u4")
    off = 16
    data = np.frombuffer(raw, dtype="<f4", count=n * dim, offset=off).reshape(n, dim)
    off += 4 * n * dim
    queries = np.frombuffer(raw, dtype="<f4", count=nq * dim, offset=off).reshape(nq, dim)
    off += 4 * nq * dim
    truth = np.frombuffer(raw, dtype="<u4", count=nq * k, offset=off).reshape(nq, k)

    index = hnswlib.Index(space="l2", dim=int(dim))
    index.init_index(max_elements=int(n), M=16, ef_construction=200, random_seed=1)
    index.set_num_threads(1)
    t0 = time.process_time()
    for i in range(n):  # one at a time, as a log applies them
        index.add_items(data[i : i + 1], np.array([i]), num_threads=1)
    rate = n / (time.process_time() - t0)
    # hnswlib's index size: its saved file is its in-memory layout (level-0
    # block of vector, links and label per element, plus upper levels).
    with tempfile.TemporaryDirectory() as d:
        index.save_index(os.path.join(d, "idx"))
        size_per = os.path.getsize(os.path.join(d, "idx")) / n
    for ef in efs:
        index.set_ef(ef)
        hits = 0
        t0 = time.process_time()
        for qi in range(nq):
            labels, _ = index.knn_query(queries[qi : qi + 1], k=int(k), num_threads=1)
            hits += len(set(labels[0].tolist()) & set(truth[qi].tolist()))
        qps = nq / (time.process_time() - t0)
        print(f"| hnswlib (python3-hnswlib) | {rate:.0f} | {size_per:.0f} | {ef} | {hits / (nq * k):.4f} | {qps:.0f} | True |")


if __name__ == "__main__":
    main()

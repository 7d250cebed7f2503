#!/usr/bin/env python3
"""numpy (OpenBLAS) side of bench/gemm.sh: GFLOP/s of float32 matmul at the
shapes given as MxNxK:TT arguments (T = transposed operand, as gemm_bench).
Prints one line per shape:
    NUMPY <label> <GFLOP/s by best wall time> <GFLOP per CPU-second, best>
Thread count comes from OPENBLAS_NUM_THREADS (gemm.sh sets 2)."""
import sys
import time

import numpy as np


def operands(m, n, k, ta, tb, rng):
    a = rng.standard_normal((k, m) if ta else (m, k), dtype=np.float32)
    b = rng.standard_normal((n, k) if tb else (k, n), dtype=np.float32)
    return (a.T if ta else a), (b.T if tb else b)


def measure(label, reps):
    dims, _, trans = label.partition(":")
    m, n, k = (int(x) for x in dims.split("x"))
    trans = trans or "NN"
    a, b = operands(m, n, k, trans[0] == "T", trans[1] == "T", np.random.default_rng(1))
    c = np.empty((m, n), dtype=np.float32)
    np.matmul(a, b, out=c)
    wall = cpu = float("inf")
    for _ in range(reps):
        w0, c0 = time.perf_counter(), time.process_time()
        np.matmul(a, b, out=c)
        wall = min(wall, time.perf_counter() - w0)
        cpu = min(cpu, time.process_time() - c0)
    flops = 2.0 * m * n * k
    print("NUMPY %-18s %8.1f %8.1f" % (label, flops / wall * 1e-9,
                                       flops / cpu * 1e-9 if cpu > 0 else 0.0))


def main():
    reps = 20
    args = sys.argv[1:]
    if args[:1] == ["--reps"]:
        reps, args = int(args[1]), args[2:]
    for label in args:
        measure(label, reps)


if __name__ == "__main__":
    main()

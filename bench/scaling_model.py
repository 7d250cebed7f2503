#!/usr/bin/env python3
"""What limits data-parallel scaling on a cluster, per example model: the
bytes each step's allreduce moves against the FLOPs each step computes,
read from the plans qsdc compiles (docs/scaling.md).

Compiles every models/*.yaml with build/qsdc (--train, into a temporary
folder), reads plan.yaml and prints, per model: parameters, the floats the
gradient allreduce sums each step (the whole parameter allocation: the
gradient and, for batch norm, the running statistics), the training step's
FLOPs at the model's batch (the plan's per-launch counts, matrix multiplies
at 2mnk), their ratio, and the parallel efficiency of a ring allreduce
without overlap,

    t_comm(N)    = 2 (N-1)/N * S / bw + 2 (N-1) * latency  (+ 2 S / pcie, staging)
    t_compute(N) = F / (N * R)
    efficiency   = t_compute / (t_compute + t_comm)

for N replicas sharing the global batch, on the machines given by
--cluster (name:R_flops:bw_bytes:latency_s:pcie_bytes, pcie 0 for none).
Usage: bench/scaling_model.py [--replicas N] [--cluster SPEC ...]
"""
import argparse
import glob
import math
import os
import subprocess
import sys
import tempfile

import yaml

CLUSTERS = [
    # CPU nodes like this machine's cores (R: bench/scaling.sh's 1-thread
    # rate times the FLOPs per sample), 10 Gb Ethernet, no device staging
    "cpu-10GbE:20e9:1.25e9:20e-6:0",
    # GPUs at an effective 10 TFLOP/s on qsdc's kernels, 200 Gb/s
    # InfiniBand, gradients staged through the host over PCIe 4 x16
    "gpu-IB200:10e12:25e9:5e-6:25e9",
]


def plan_numbers(model, qsdc, tmp):
    out = os.path.join(tmp, os.path.basename(model) + ".qsdc")
    subprocess.run([qsdc, model, "--train", "-o", out], check=True,
                   stdout=subprocess.DEVNULL)
    with open(os.path.join(out, "plan.yaml")) as f:
        doc = yaml.safe_load(f)
    train = [p for p in doc["plans"] if p.get("loss_offset", -1) >= 0][0]
    params = sum(math.prod(t["dims"]) for t in train["tensors"] if t["buffer"] == "P")
    floats = train["buffers"]["P"]["elems"]
    flops = sum(l.get("flops", 0) for l in train["launches"])
    return params, floats, flops, train["batch"]


def efficiency(flops, nbytes, n, spec):
    _, rate, bw, lat, pcie = spec.split(":")
    rate, bw, lat, pcie = float(rate), float(bw), float(lat), float(pcie)
    comm = 2 * (n - 1) / n * nbytes / bw + 2 * (n - 1) * lat
    if pcie > 0:
        comm += 2 * nbytes / pcie
    compute = flops / (n * rate)
    return compute / (compute + comm), compute, comm


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--replicas", type=int, nargs="+", default=[2, 8, 32])
    ap.add_argument("--cluster", nargs="+", default=CLUSTERS)
    a = ap.parse_args()
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    qsdc = os.path.join(root, "build", "qsdc")
    if not os.access(qsdc, os.X_OK):
        sys.exit("bench/scaling_model.py: build/qsdc not found")
    with tempfile.TemporaryDirectory() as tmp:
        rows = [(os.path.basename(m)[:-5], *plan_numbers(m, qsdc, tmp))
                for m in sorted(glob.glob(os.path.join(root, "models", "*.yaml")))]
    print(f"{'model':24} {'parameters':>10} {'batch':>5} {'allreduce MB':>12} "
          f"{'GFLOP/step':>10} {'FLOP/byte':>9}")
    for name, params, floats, flops, batch in rows:
        print(f"{name:24} {params:10d} {batch:5d} {floats * 4 / 1e6:12.2f} "
              f"{flops / 1e9:10.2f} {flops / (floats * 4):9.0f}")
    for spec in a.cluster:
        print(f"\nefficiency on {spec.split(':')[0]} ({spec}), global batch fixed:")
        print(f"{'model':24} " + " ".join(f"{'N=' + str(n):>22}" for n in a.replicas))
        for name, _, floats, flops, _ in rows:
            cells = []
            for n in a.replicas:
                e, comp, comm = efficiency(flops, floats * 4, n, spec)
                cells.append(f"{e:5.2f} ({comp * 1e3:6.2f}/{comm * 1e3:5.2f}ms)")
            print(f"{name:24} " + " ".join(f"{c:>22}" for c in cells))


if __name__ == "__main__":
    main()

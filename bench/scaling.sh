#!/usr/bin/env bash
# Data-parallel scaling of qsdc training on this machine: samples/s of one
# process against two MPI ranks (mpirun -np 2) and against two OpenCL
# devices in one process (--devices 0,1 over two pocl CPU devices), with
# the efficiency rate_N / (N x rate of one replica on one core). See
# docs/scaling.md. Usage: bench/scaling.sh [MODEL.yaml]   (default
# models/mlp_fashion_qsd.yaml); STEPS (default 40) sets the steps each run
# times. Each replica gets one pocl thread (POCL_MAX_PTHREAD_COUNT=1), so
# two replicas use the two cores one 2-thread process uses. Each
# configuration first runs 2 untimed steps, so that kernel compilation
# (qsdc's program cache, pocl's per-launch cache) is not timed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
model="${1:-models/mlp_fashion_qsd.yaml}"
steps="${STEPS:-40}"
if [ ! -x build/qsdc ]; then
  echo "bench/scaling.sh: build/qsdc not found: meson setup build && meson compile -C build" >&2
  exit 1
fi
root=()
[ "$(id -u)" = 0 ] && root=(--allow-run-as-root)
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
train=(build/qsdc train "$model" --epochs 1)

# run NAME THREADS CMD... [QSDC_OPTION...]: runs CMD (a qsdc train command
# line) with THREADS pocl threads per device, 2 steps to warm up, then
# STEPS, and prints the timed run's rate (its "train: ... samples/s").
run() {
  local name="$1" threads="$2"
  shift 2
  echo "== $name" >&2
  POCL_MAX_PTHREAD_COUNT="$threads" "$@" --max-steps 2 >"$logs/$name" 2>&1 || true
  if ! POCL_MAX_PTHREAD_COUNT="$threads" "$@" --max-steps "$steps" >"$logs/$name" 2>&1; then
    cat "$logs/$name" >&2
    echo "n/a"
    return
  fi
  sed -n '/^train: /{s/.*[ ,]\([0-9][0-9.]*\) samples\/s.*/\1/p;q}' "$logs/$name"
}

one_core="$(run one-core 1 "${train[@]}")"
two_threads="$(run two-threads 2 "${train[@]}")"
if command -v mpirun >/dev/null; then
  two_ranks="$(run two-ranks 1 mpirun -np 2 --oversubscribe "${root[@]}" "${train[@]}")"
else
  echo "bench/scaling.sh: no mpirun (apt-get install openmpi-bin libopenmpi-dev)" >&2
  two_ranks=n/a
fi
two_devices="$(POCL_DEVICES="pthread pthread" run two-devices 1 "${train[@]}" --devices 0,1)"

eff() {
  awk -v r="$1" -v n="$2" -v b="$one_core" 'BEGIN {
    if (r + 0 > 0 && b + 0 > 0) printf "%.2f", r / (n * b); else print "n/a" }'
}
echo
echo "$(basename "$model"), $steps steps, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-34s %12s %11s\n' configuration samples/s efficiency
printf '%-34s %12s %11s\n' "1 process, 1 pocl thread" "$one_core" 1.00
printf '%-34s %12s %11s\n' "1 process, 2 pocl threads" "$two_threads" "$(eff "$two_threads" 2)"
printf '%-34s %12s %11s\n' "2 MPI ranks x 1 thread" "$two_ranks" "$(eff "$two_ranks" 2)"
printf '%-34s %12s %11s\n' "2 devices x 1 thread (--devices)" "$two_devices" "$(eff "$two_devices" 2)"

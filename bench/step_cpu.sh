#!/usr/bin/env bash
# Training-step cost by process CPU time (user + system), which other load
# on a shared machine disturbs far less than wall time, for qsdc and (with
# TORCH=1, the default) the PyTorch peer, both on one thread: for each
# regulariser, CPU seconds of a run of LONG steps minus those of a run of
# SHORT steps, over the extra steps (startup, data loading and compilation
# cancel), in ROUNDS alternating rounds after one untimed qsdc run each
# (program caches). Prints each round, then the median per regulariser, its
# ratio to none, and torch's over qsdc's (above 1: qsdc needs less CPU per
# step). /usr/bin/time counts 10 ms: LONG - SHORT = 80 steps resolve
# 0.125 ms. qsdc runs `qsdc profile` (seeded synthetic batch); PyTorch runs
# bench/NET_torch.py on the real data. See bench/README.md.
# Usage: bench/step_cpu.sh [NET]   (mlp (default) or cnn: models/NET_fashion_<reg>.yaml)
# Environment: QSDC (binary, default build/qsdc; another build's for
# before/after), ROUNDS (3), SHORT (5), LONG (85), TORCH (1; 0 skips it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
net="${1:-mlp}"
qsdc="${QSDC:-build/qsdc}"
rounds="${ROUNDS:-3}" short="${SHORT:-5}" long="${LONG:-85}" torch="${TORCH:-1}"
if [ ! -x "$qsdc" ] || [ ! -x /usr/bin/time ]; then
  echo "bench/step_cpu.sh: needs $qsdc (meson compile -C build) and /usr/bin/time" >&2
  exit 1
fi
export POCL_MAX_PTHREAD_COUNT=1 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
# cpu_qsdc|cpu_torch REG STEPS: CPU seconds of one run
cpu_qsdc() {
  /usr/bin/time -f "%U %S" "$qsdc" profile "models/${net}_fashion_$1.yaml" --steps "$2" \
    2>&1 >/dev/null | tail -n 1 | awk '{ print $1 + $2 }'
}
cpu_torch() {
  /usr/bin/time -f "%U %S" /usr/bin/python3 "bench/${net}_torch.py" "$1" --threads 1 \
    --steps "$2" 2>&1 >/dev/null | tail -n 1 | awk '{ print $1 + $2 }'
}
# per_step WHO REG: CPU milliseconds per step
per_step() {
  local a b
  a="$("cpu_$1" "$2" "$short")"
  b="$("cpu_$1" "$2" "$long")"
  awk -v a="$a" -v b="$b" -v n=$((long - short)) 'BEGIN { printf "%.2f", (b - a) * 1000 / n }'
}
for reg in none dropout qsd; do
  cpu_qsdc "$reg" 1 >/dev/null
done
sides="qsdc"
[ "$torch" = 1 ] && sides="qsdc torch"
results="$(mktemp)"
trap 'rm -f "$results"' EXIT
for r in $(seq "$rounds"); do
  for reg in none dropout qsd; do
    for who in $sides; do
      ms="$(per_step "$who" "$reg")"
      echo "round $r $who $reg: $ms ms CPU per step"
      echo "$who $reg $ms" >>"$results"
    done
  done
done
printf '\n%-12s %12s %8s %12s %8s %12s\n' regulariser "qsdc ms/step" "vs none" \
  "torch ms/step" "vs none" "torch/qsdc"
sort -k1,2 -k3,3n "$results" | awk '
  { v[$1 " " $2] = v[$1 " " $2] " " $3; n[$1 " " $2]++ }
  function median(key,   x, k) {
    if (!(key in n)) return 0
    k = split(substr(v[key], 2), x, " ")
    return (k % 2) ? x[(k + 1) / 2] : (x[k / 2] + x[k / 2 + 1]) / 2
  }
  END {
    split("none dropout qsd", regs, " ")
    q0 = median("qsdc none"); t0 = median("torch none")
    for (i = 1; i <= 3; i++) {
      q = median("qsdc " regs[i]); t = median("torch " regs[i])
      if (t > 0)
        printf "%-12s %12.2f %7.2fx %12.2f %7.2fx %11.2fx\n", regs[i], q, q / q0, t, t / t0, t / q
      else
        printf "%-12s %12.2f %7.2fx %12s %8s %12s\n", regs[i], q, q / q0, "-", "-", "-"
    }
  }'

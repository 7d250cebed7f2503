#!/usr/bin/env bash
# qsdc training-step cost by process CPU time (user + system), which other
# load on a shared machine disturbs far less than wall time: for each
# regulariser, CPU seconds of `qsdc profile --steps LONG` minus those of
# `--steps SHORT`, over the extra steps (startup and compilation cancel),
# in ROUNDS alternating rounds after one untimed run each (program caches);
# prints each round, the median per regulariser and its ratio to none.
# /usr/bin/time counts 10 ms: LONG - SHORT = 80 steps resolve 0.125 ms.
# See bench/README.md.
# Usage: bench/step_cpu.sh [NET]   (mlp (default) or cnn: models/NET_fashion_<reg>.yaml)
# Environment: QSDC (binary, default build/qsdc; another build's for
# before/after), ROUNDS (3), SHORT (5), LONG (85), THREADS (pocl threads, 1).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
net="${1:-mlp}"
qsdc="${QSDC:-build/qsdc}"
rounds="${ROUNDS:-3}" short="${SHORT:-5}" long="${LONG:-85}"
if [ ! -x "$qsdc" ] || [ ! -x /usr/bin/time ]; then
  echo "bench/step_cpu.sh: needs $qsdc (meson compile -C build) and /usr/bin/time" >&2
  exit 1
fi
# cpu REG STEPS: CPU seconds of one profile run
cpu() {
  /usr/bin/time -f "%U %S" env POCL_MAX_PTHREAD_COUNT="${THREADS:-1}" "$qsdc" profile \
    "models/${net}_fashion_$1.yaml" --steps "$2" 2>&1 >/dev/null | tail -n 1 |
    awk '{ print $1 + $2 }'
}
# untimed first runs fill the program caches
for reg in none dropout qsd; do
  cpu "$reg" 1 >/dev/null
done
results="$(mktemp)"
trap 'rm -f "$results"' EXIT
for r in $(seq "$rounds"); do
  for reg in none dropout qsd; do
    a="$(cpu "$reg" "$short")"
    b="$(cpu "$reg" "$long")"
    ms="$(awk -v a="$a" -v b="$b" -v n=$((long - short)) 'BEGIN { printf "%.2f", (b - a) * 1000 / n }')"
    echo "round $r $reg: $ms ms CPU per step"
    echo "$reg $ms" >>"$results"
  done
done
printf '\n%-12s %18s %10s\n' regulariser "median ms CPU/step" "vs none"
sort -k1,1 -k2,2n "$results" | awk -v rounds="$rounds" '
  { v[$1] = v[$1] " " $2; n[$1]++ }
  END {
    split("none dropout qsd", order, " ")
    for (i = 1; i <= 3; i++) {
      split(substr(v[order[i]], 2), x, " ")
      m[i] = (n[order[i]] % 2) ? x[(n[order[i]] + 1) / 2] : (x[n[order[i]] / 2] + x[n[order[i]] / 2 + 1]) / 2
      printf "%-12s %18.2f %9.2fx\n", order[i], m[i], m[i] / m[1]
    }
  }'

#!/usr/bin/env bash
# Training throughput of qsdc against PyTorch on the same CPU, for the MLP of
# models/mlp_fashion_<reg>.yaml with each regulariser, side by side in one run.
# Usage: bench/mlp.sh [QSDC_TRAIN_OPTION...]   (e.g. --device cpu)
# STEPS (default 200) sets the number of steps each side times.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

steps="${STEPS:-200}"
export OPENBLAS_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE
if [ ! -x build/qsdc ]; then
  echo "bench/mlp.sh: build/qsdc not found: meson setup build && meson compile -C build" >&2
  exit 1
fi
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT

# rate REGEX FILE: the number before " samples/s" on the first line matching REGEX.
rate() {
  sed -n "/$1/{s/.*[ ,]\([0-9][0-9.]*\) samples\/s.*/\1/p;q}" "$2"
}

status=0
rows=()
for reg in none dropout qsd; do
  echo "== $reg: torch" >&2
  /usr/bin/python3 bench/mlp_torch.py "$reg" --steps "$steps" | tee "$logs/torch_$reg" >&2 || status=1
  echo "== $reg: qsdc" >&2
  build/qsdc train "models/mlp_fashion_$reg.yaml" --max-steps "$steps" --epochs 1 "$@" \
    >"$logs/qsdc_$reg" 2>&1 || status=1
  tail -n 1 "$logs/qsdc_$reg" >&2
  t="$(rate "^torch $reg:" "$logs/torch_$reg")"
  q="$(rate '^train: ' "$logs/qsdc_$reg")"
  if [ -z "$q" ]; then
    echo "bench/mlp.sh: no 'train: ... samples/s' line from qsdc; its output:" >&2
    cat "$logs/qsdc_$reg" >&2
    status=1
  fi
  rows+=("$reg ${q:-n/a} ${t:-n/a}")
done

printf '\n%-12s %16s %16s %12s\n' regulariser "qsdc samples/s" "torch samples/s" qsdc/torch
for row in "${rows[@]}"; do
  read -r reg q t <<<"$row"
  ratio="$(awk -v q="$q" -v t="$t" 'BEGIN { if (q + 0 > 0 && t + 0 > 0) printf "%.2f", q / t; else print "n/a" }')"
  printf '%-12s %16s %16s %12s\n' "$reg" "$q" "$t" "$ratio"
done
# step time with a regulariser relative to none, in qsdc (rates are inverse times)
none_rate="$(awk '$1 == "none" { print $2 }' <<<"$(printf '%s\n' "${rows[@]}")")"
for row in "${rows[@]}"; do
  read -r reg q t <<<"$row"
  [ "$reg" = none ] && continue
  awk -v r="$reg" -v n="$none_rate" -v q="$q" 'BEGIN {
    if (n + 0 > 0 && q + 0 > 0) printf "qsdc step time, %s / none: %.2fx\n", r, n / q }'
done
exit "$status"

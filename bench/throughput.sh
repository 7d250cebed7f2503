#!/usr/bin/env bash
# Training throughput of qsdc against PyTorch on the same CPU, for the network
# NET (mlp or cnn) of models/NET_fashion_<reg>.yaml with each regulariser, side
# by side in one run; bench/NET_torch.py is the PyTorch peer.
# Usage: bench/throughput.sh NET [QSDC_TRAIN_OPTION...]   (bench/mlp.sh and
# bench/cnn.sh call it). STEPS (default 200) sets the steps each side times;
# ROUNDS (default 1) repeats the whole comparison, alternating the two sides,
# and ends with the medians over the rounds.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/ratio_table.sh"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
net="$1"
shift

steps="${STEPS:-200}"
rounds="${ROUNDS:-1}"
export OPENBLAS_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE
if [ ! -x build/qsdc ]; then
  echo "bench/throughput.sh: build/qsdc not found: meson setup build && meson compile -C build" >&2
  exit 1
fi
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT

# rate REGEX FILE: the number before " samples/s" on the first line matching REGEX.
rate() {
  sed -n "/$1/{s/.*[ ,]\([0-9][0-9.]*\) samples\/s.*/\1/p;q}" "$2"
}

# step_ratios ROW...: step time with a regulariser relative to none, in qsdc
# (rates are inverse times)
step_ratios() {
  printf '%s\n' "$@" | awk '
    $1 == "none" { n = $2 } $1 != "none" { reg[++k] = $1; q[k] = $2 }
    END { for (i = 1; i <= k; i++) if (n + 0 > 0 && q[i] + 0 > 0)
      printf "qsdc step time, %s / none: %.2fx\n", reg[i], n / q[i] }'
}

status=0
all_rows=()
for ((round = 1; round <= rounds; round++)); do
  rows=()
  for reg in none dropout qsd; do
    echo "== round $round/$rounds, $reg: torch" >&2
    /usr/bin/python3 "bench/${net}_torch.py" "$reg" --steps "$steps" | tee "$logs/torch_$reg" >&2 || status=1
    echo "== round $round/$rounds, $reg: qsdc" >&2
    build/qsdc train "models/${net}_fashion_$reg.yaml" --max-steps "$steps" --epochs 1 "$@" \
      >"$logs/qsdc_$reg" 2>&1 || status=1
    tail -n 1 "$logs/qsdc_$reg" >&2
    t="$(rate "^torch $reg:" "$logs/torch_$reg")"
    q="$(rate '^train: ' "$logs/qsdc_$reg")"
    if [ -z "$q" ]; then
      echo "bench/throughput.sh: no 'train: ... samples/s' line from qsdc; its output:" >&2
      cat "$logs/qsdc_$reg" >&2
      status=1
    fi
    rows+=("$reg ${q:-n/a} ${t:-n/a}")
  done
  [ "$rounds" -eq 1 ] || printf '\nround %s of %s' "$round" "$rounds"
  ratio_table samples/s "${rows[@]}"
  step_ratios "${rows[@]}"
  all_rows+=("${rows[@]}")
done
if [ "$rounds" -gt 1 ]; then
  median_table samples/s "$rounds" "${all_rows[@]}"
  mapfile -t medians < <(median_rows "${all_rows[@]}")
  step_ratios "${medians[@]}"
fi
exit "$status"

#!/usr/bin/env bash
# Training throughput of qsdc against its peers on the same CPU, for the
# network NET (mlp or cnn) of models/NET_fashion_<reg>.yaml with each
# regulariser, side by side in one run: PyTorch 1.13 (Debian), PyTorch 2.x
# eager and with torch.compile (bench/NET_torch.py) and JAX (bench/NET_jax.py);
# bench/peers.sh says where the PyPI peers come from (scripts/bench installs
# them; a missing one's column says no-venv).
# Usage: bench/throughput.sh NET [QSDC_TRAIN_OPTION...]   (bench/mlp.sh and
# bench/cnn.sh call it). STEPS (default 200) sets the steps each side times;
# ROUNDS (default 1) repeats the whole comparison, alternating the sides,
# and ends with the medians over the rounds. Each qsdc model's first round
# follows an untimed one-step run (qsdc_warm), as the peers' warm-up steps.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/peers.sh"
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

status=0
all_rows=()
for ((round = 1; round <= rounds; round++)); do
  rows=()
  for reg in none dropout qsd; do
    echo "== round $round/$rounds, $reg: peers" >&2
    peers="$(peer_rates "$net" "$reg" "$steps" "$logs")" || status=1
    echo "== round $round/$rounds, $reg: qsdc" >&2
    [ "$round" -gt 1 ] || qsdc_warm "models/${net}_fashion_$reg.yaml" "$@"
    build/qsdc train "models/${net}_fashion_$reg.yaml" --max-steps "$steps" --epochs 1 "$@" \
      >"$logs/qsdc_$reg" 2>&1 || status=1
    tail -n 1 "$logs/qsdc_$reg" >&2
    # "train: N steps, M samples, S s, R samples/s"
    q="$(sed -n '/^train: /{s/.*[ ,]\([0-9][0-9.]*\) samples\/s.*/\1/p;q}' "$logs/qsdc_$reg")"
    if [ -z "$q" ]; then
      echo "bench/throughput.sh: no 'train: ... samples/s' line from qsdc; its output:" >&2
      cat "$logs/qsdc_$reg" >&2
      status=1
    fi
    rows+=("$reg ${q:-failed} $peers")
  done
  [ "$rounds" -eq 1 ] || printf '\nround %s of %s' "$round" "$rounds"
  printf '%s\n' "${rows[@]}" | peer_table samples/s --step-ratios
  all_rows+=("${rows[@]}")
done
if [ "$rounds" -gt 1 ]; then
  printf '%s\n' "${all_rows[@]}" | peer_table samples/s --rounds "$rounds" --step-ratios
fi
exit "$status"

#!/usr/bin/env bash
# LSTM language-model training throughput of qsdc against its peers on the
# same CPU, side by side in one run: models/lstm_kjv_<reg>.yaml (2 x 256
# units, batch 20, 35 steps, SGD with clipping) against PyTorch 1.13
# (Debian), PyTorch 2.x eager and with torch.compile (bench/lstm_torch.py)
# and JAX (bench/lstm_jax.py); bench/peers.sh says where the PyPI peers come
# from. qsdc trains on the KJV text (scripts/fetch-data), with the model's
# split changed to [1, 0] so that no perplexity evaluation follows the timed
# steps.
# Usage: bench/lstm.sh [REG...]   (default: none qsd). STEPS (default 50)
# sets the steps each side times; qsdc's count includes its first step,
# after an untimed one-step run (qsdc_warm).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/peers.sh"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
steps="${STEPS:-50}"
regs=("$@")
[ ${#regs[@]} -gt 0 ] || regs=(none qsd)
export OPENBLAS_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE
if [ ! -x build/qsdc ]; then
  echo "bench/lstm.sh: build/qsdc not found: meson setup build && meson compile -C build" >&2
  exit 1
fi
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT

rows=()
status=0
for reg in "${regs[@]}"; do
  echo "== $reg: peers" >&2
  peers="$(peer_rates lstm "$reg" "$steps" "$logs")" || status=1
  echo "== $reg: qsdc" >&2
  sed 's/split: \[0\.9, 0\.05\]/split: [1, 0]/' "models/lstm_kjv_$reg.yaml" >"$logs/model_$reg.yaml"
  qsdc_warm "$logs/model_$reg.yaml"
  build/qsdc train "$logs/model_$reg.yaml" --max-steps "$steps" --epochs 1 >"$logs/qsdc_$reg" 2>&1 ||
    status=1
  tail -n 1 "$logs/qsdc_$reg" >&2
  # "train: N steps, M samples, S s, R samples/s": a sample is 35 tokens
  q="$(sed -n 's/^train: .* \([0-9.]*\) samples\/s.*/\1/p' "$logs/qsdc_$reg" |
    awk '{ printf "%.0f", $1 * 35 }')"
  rows+=("$reg ${q:-failed} $peers")
done

printf '%s\n' "${rows[@]}" | peer_table tokens/s
exit "$status"

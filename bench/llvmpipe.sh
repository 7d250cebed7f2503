#!/usr/bin/env bash
# qsdc on Mesa's rusticl over llvmpipe, the second OpenCL implementation on
# this machine, which runs work-items in SIMD lanes as GPUs do, against pocl
# on the same cores in the same run: training throughput of the MLP, the
# CNN and the sentence LSTM (each unregularised, STEPS steps, default 10,
# after one untimed step that compiles the kernels), then `qsdc tune` on
# llvmpipe for the MLP and the CNN, which times qsdc's own GEMMs against
# CLBlast at every shape of their plans.
# Usage: bench/llvmpipe.sh   (needs mesa-opencl-icd; build/qsdc built)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export RUSTICL_ENABLE=llvmpipe
steps="${STEPS:-10}"
if [ ! -x build/qsdc ]; then
  echo "bench/llvmpipe.sh: build/qsdc not found: meson setup build && meson compile -C build" >&2
  exit 1
fi
if ! build/qsdc devices | grep -q llvmpipe; then
  echo "bench/llvmpipe.sh: no llvmpipe device (apt-get install mesa-opencl-icd)" >&2
  exit 1
fi
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

# samples/s of `qsdc train MODEL` on device DEV ("train: ... R samples/s").
rate() {
  local model="$1" dev="$2"
  build/qsdc train "models/$model.yaml" --device "$dev" --max-steps 1 --epochs 1 >"$log" 2>&1
  build/qsdc train "models/$model.yaml" --device "$dev" --max-steps "$steps" --epochs 1 \
    >"$log" 2>&1
  sed -n '/^train: /{s/.*[ ,]\([0-9][0-9.]*\) samples\/s.*/\1/p;q}' "$log"
}

echo "| model | pocl samples/s | llvmpipe samples/s | llvmpipe/pocl |"
echo "|---|---|---|---|"
for model in mlp_fashion_none cnn_fashion_none lstm_polarity_none; do
  p="$(rate "$model" pthread)"
  l="$(rate "$model" llvmpipe)"
  printf '| %s | %s | %s | %s |\n' "$model" "$p" "$l" \
    "$(python3 -c "print(f'{$l / $p:.3f}')")"
done
for model in mlp_fashion_none cnn_fashion_none; do
  echo
  echo "qsdc tune models/$model.yaml --device llvmpipe:"
  build/qsdc tune "models/$model.yaml" --device llvmpipe 2>&1 | grep -v '^qsdc: measuring'
done

#!/usr/bin/env bash
# Time from `qsdc train` start to the first completed step, with a cold and a
# warm program cache (qsdc's and pocl's own), and each example model's device memory against the
# planner's lower bound.
# Usage: bench/startup.sh [MODEL.yaml...]   (default: models/mlp_fashion_*.yaml)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ ! -x build/qsdc ]; then
  echo "bench/startup.sh: build/qsdc not found: meson setup build && meson compile -C build" >&2
  exit 1
fi
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(models/mlp_fashion_*.yaml)
cache="$(mktemp -d)"
out="$(mktemp -d)"
trap 'rm -rf "$cache" "$out"' EXIT

first_step() {
  QSDC_CACHE_DIR="$cache" POCL_CACHE_DIR="$cache/pocl" build/qsdc train "$1" --max-steps 1 --epochs 1 2>/dev/null |
    sed -n 's/^first step done \([0-9.]*\) s.*/\1/p'
}

printf '%-32s %12s %12s %36s\n' model "cold s" "warm s" "training device memory / lower bound"
for m in "${models[@]}"; do
  rm -rf "${cache:?}"/*
  cold="$(first_step "$m")"
  warm="$(first_step "$m")"
  mem="$(build/qsdc "$m" --train -o "$out/bundle" |
    sed -n 's/^  training .*device memory \(.*\)$/\1/p')"
  printf '%-32s %12s %12s %36s\n' "$(basename "$m")" "${cold:-n/a}" "${warm:-n/a}" "$mem"
done

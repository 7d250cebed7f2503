#!/usr/bin/env bash
# qsdc on Mesa's rusticl over llvmpipe, the second OpenCL implementation on
# this machine, which runs work-items in SIMD lanes as GPUs do, against pocl
# on the same cores in the same run: training throughput of the MLP, the
# CNN and the sentence LSTM (each unregularised, STEPS steps, default 10,
# after an untimed one-step run that tunes and fills the program cache;
# llvmpipe still compiles each kernel at its first launch in every run, so
# the table gives llvmpipe's rate after the first step too), then `qsdc tune` on
# llvmpipe for the MLP and the CNN, and `gemm_bench` timing the tiles it
# picked against CLBlast at each of their products' shapes (`qsdc tune`
# cannot time CLBlast there: the loop guard cannot see into its kernels).
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
trap 'rm -f "$log" "$log.tune" "$log.picks"' EXIT

# samples/s of `qsdc train MODEL` on device DEV ("train: ... R samples/s"),
# and a space and the same without the first step, which on llvmpipe
# compiles every kernel at its first launch (the epoch line's "includes
# the first step's S s"; "-" where the line leaves it out, the first step
# under a tenth of the run).
rate() {
  local model="$1" dev="$2"
  build/qsdc train "models/$model.yaml" --device "$dev" --max-steps 1 --epochs 1 >"$log" 2>&1
  build/qsdc train "models/$model.yaml" --device "$dev" --max-steps "$steps" --epochs 1 \
    >"$log" 2>&1
  python3 - "$log" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
m = re.search(r"^train: (\d+) steps, (\d+) samples, ([\d.]+) s, (\d+) samples/s", text, re.M)
first = re.search(r"includes the first step's ([\d.]+) s", text)
steps, samples, secs, rate = int(m[1]), int(m[2]), float(m[3]), m[4]
# the epoch line names the first step only where it took a tenth or more
after = f"{(samples - samples // steps) / (secs - float(first[1])):.0f}" if first and steps > 1 else "-"
print(rate, after)
PY
}

echo "| model | pocl samples/s | llvmpipe samples/s | llvmpipe/pocl | llvmpipe after the first step |"
echo "|---|---|---|---|---|"
for model in mlp_fashion_none cnn_fashion_none lstm_polarity_none; do
  read -r p _ <<<"$(rate "$model" pthread)"
  read -r l l_after <<<"$(rate "$model" llvmpipe)"
  printf '| %s | %s | %s | %s | %s |\n' "$model" "$p" "$l" \
    "$(python3 -c "print(f'{$l / $p:.3f}')")" "$l_after"
done
for model in mlp_fashion_none cnn_fashion_none; do
  echo
  echo "qsdc tune models/$model.yaml --device llvmpipe:"
  build/qsdc tune "models/$model.yaml" --device llvmpipe 2>&1 | grep -v '^qsdc: measuring' |
    tee -a "$log.tune"
done

# "TILES SHAPE" for each distinct tiled pick of the tune lines ("gemm
# 128x1024 x 784 NN x 32 ... (4x32 of 16x8, k  1, direct) ... -> tiled"),
# a summed or batched product timed as one of its products
python3 - "$log.tune" <<'PY' | sort -u >"$log.picks"
import re, sys
for line in open(sys.argv[1]):
    m = re.match(r"gemm +(\d+)x(\d+) *x +(\d+) ([NT]{2}).*\((\d+)x(\d+) of (\d+)x(\d+), "
                 r"k +(\d+)(, direct)?\).*-> tiled", line)
    if m:
        tiles = ",".join(m.group(5, 6, 7, 8, 9)) + (",direct" if m[10] else "")
        print(tiles, f"{m[1]}x{m[2]}x{m[3]}:{m[4]}")
PY
echo
echo "own tiled GEMM (qsdc tune's pick) against CLBlast on llvmpipe, gemm_bench, best of 3:"
echo "| shape | tiles | own ms | CLBlast ms | own/CLBlast speed |"
echo "|---|---|---|---|---|"
while read -r tiles shapes; do
  # shellcheck disable=SC2086 # shapes is a list of --shape options
  build/bench/gemm_bench --device llvmpipe --reps 3 --tiles "$tiles" $shapes 2>&1 |
    sed -n 's/^RESULT \([^ ]*\) .*(own \([0-9.]*\) ms, CLBlast \([0-9.]*\) ms.*/\1 \2 \3/p' |
    while read -r shape own clb; do
      printf '| %s | %s | %s | %s | %s |\n' "$shape" "$tiles" "$own" "$clb" \
        "$(python3 -c "print(f'{$clb / $own:.1f}')")"
    done
done < <(awk '{ s[$1] = s[$1] " --shape " $2 } END { for (t in s) print t s[t] }' "$log.picks")

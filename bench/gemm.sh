#!/bin/sh
# Own GEMM kernels vs CLBlast (both on the OpenCL device) vs numpy/OpenBLAS on
# 2 threads, at the MLP's shapes and 1024^3; prints GFLOP/s and the ratios.
#   bench/gemm.sh [path/to/gemm_bench] [extra gemm_bench options...]
# Needs a python3 with numpy (/usr/bin/python3 preferred). Wall-time numbers
# are best of N; on a busy machine compare the per-CPU-second columns too.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bench=${1:-$here/../build/bench/gemm_bench}
[ $# -gt 0 ] && shift
shapes="128x1024x784:NN 128x1024x1024:NN 128x10x1024:NN 784x1024x128:TN
1024x1024x128:TN 1024x10x128:TN 128x784x1024:NT 128x1024x1024:NT 128x1024x10:NT
1024x1024x1024:NN"
py=
for cand in /usr/bin/python3 python3; do
    if "$cand" -c 'import numpy' 2>/dev/null; then py=$cand; break; fi
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
args=
for s in $shapes; do args="$args --shape $s"; done
# shellcheck disable=SC2086
"$bench" $args "$@" | tee "$tmp/own" | grep -E '^(device|tuning):' || true
if [ -n "$py" ]; then
    # shellcheck disable=SC2086
    OPENBLAS_NUM_THREADS=2 "$py" "$here/gemm_bench.py" $shapes > "$tmp/numpy"
else
    echo "no python3 with numpy found: OpenBLAS column left empty" >&2
    : > "$tmp/numpy"
fi
awk '
    function ratio(x, y) { return y > 0 ? sprintf("%.2f", x / y) : "-" }
    FNR == NR { np[$2] = $3; npc[$2] = $4; next }
    /^RESULT/ {
        rows[++n] = $2; own[$2] = $3; clb[$2] = $4; ownc[$2] = $6; clbc[$2] = $7
    }
    END {
        printf "%-18s %8s %8s %8s | %9s %9s | %9s %9s\n", "GFLOP/s", "own",
               "CLBlast", "OpenBLAS", "own/OBLAS", "own/CLB", "cpu:o/OB", "cpu:o/CLB"
        for (i = 1; i <= n; i++) {
            s = rows[i]
            ob = (s in np) ? np[s] : 0
            obc = (s in npc) ? npc[s] : 0
            printf "%-18s %8.1f %8.1f %8.1f | %9s %9s | %9s %9s\n", s, own[s], clb[s], ob,
                   ratio(own[s], ob), ratio(own[s], clb[s]),
                   ratio(ownc[s], obc), ratio(ownc[s], clbc[s])
        }
    }' "$tmp/numpy" "$tmp/own"

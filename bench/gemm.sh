#!/bin/sh
# Own GEMM kernels vs CLBlast (both on the OpenCL device) vs numpy/OpenBLAS on
# 2 threads, at the MLP's shapes and 1024^3; prints GFLOP/s and the ratios.
#   bench/gemm.sh [path/to/gemm_bench] [extra gemm_bench options...]
# Needs a python3 with numpy (/usr/bin/python3 preferred). GEMM_ROUNDS
# (default 3) rounds of both; wall-time numbers are the best seen, and on a
# busy machine the per-CPU-second ratios (cpu:) are the steadier comparison.
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
# Rounds alternate the two sides so a burst of other load hits both; each
# number below is the best over the rounds.
rounds=${GEMM_ROUNDS:-3}
: > "$tmp/own"
: > "$tmp/numpy"
i=0
while [ "$i" -lt "$rounds" ]; do
    # shellcheck disable=SC2086
    "$bench" $args "$@" > "$tmp/round"
    grep '^RESULT' "$tmp/round" >> "$tmp/own"
    [ "$i" -eq 0 ] && grep -E '^(device|tuning):' "$tmp/round"
    if [ -n "$py" ]; then
        # shellcheck disable=SC2086
        OPENBLAS_NUM_THREADS=2 "$py" "$here/gemm_bench.py" $shapes >> "$tmp/numpy"
    fi
    i=$((i + 1))
done
[ -n "$py" ] || echo "no python3 with numpy found: OpenBLAS column left empty" >&2
awk '
    function ratio(x, y) { return y > 0 ? sprintf("%.2f", x / y) : "-" }
    function up(a, k, x) { if (!(k in a) || x > a[k]) a[k] = x }
    FILENAME == ARGV[1] { up(np, $2, $3); up(npc, $2, $4); next }
    /^RESULT/ {
        if (!($2 in own)) rows[++n] = $2
        up(own, $2, $3); up(clb, $2, $4); up(ownc, $2, $6); up(clbc, $2, $7)
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

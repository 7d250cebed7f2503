# Sourced by the throughput benchmarks: ratio_table UNIT ROW... prints a
# table of "REG QSDC_RATE TORCH_RATE" rows with the ratio qsdc/torch.
ratio_table() {
  local unit="$1" row reg q t ratio
  shift
  printf '\n%-12s %16s %16s %12s\n' regulariser "qsdc $unit" "torch $unit" qsdc/torch
  for row in "$@"; do
    read -r reg q t <<<"$row"
    ratio="$(awk -v q="$q" -v t="$t" 'BEGIN { if (q + 0 > 0 && t + 0 > 0) printf "%.2f", q / t; else print "n/a" }')"
    printf '%-12s %16s %16s %12s\n' "$reg" "$q" "$t" "$ratio"
  done
}

# median_rows ROW...: for "REG QSDC_RATE TORCH_RATE" rows of several rounds
# (each regulariser once a round), one "REG QSDC TORCH RATIO" row per
# regulariser: the median of each side's rate and of the per-round ratios
# qsdc/torch. With an odd number of rounds these are a middle round's
# figures, so one round disturbed by other load does not move them.
median_rows() {
  printf '%s\n' "$@" | awk '
    function median(list,   a, n, i, j, x) {
      n = split(list, a, " ")
      for (i = 2; i <= n; i++) {
        x = a[i]
        for (j = i - 1; j >= 1 && a[j] + 0 > x + 0; j--) a[j + 1] = a[j]
        a[j + 1] = x
      }
      return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    !($1 in seen) { seen[$1] = 1; order[++regs] = $1 }
    $2 + 0 > 0 && $3 + 0 > 0 { q[$1] = q[$1] " " $2; t[$1] = t[$1] " " $3; r[$1] = r[$1] " " $2 / $3 }
    END {
      for (i = 1; i <= regs; i++) {
        g = order[i]
        if (r[g] == "") print g, "n/a", "n/a", "n/a"
        else printf "%s %.0f %.0f %.2f\n", g, median(q[g]), median(t[g]), median(r[g])
      }
    }'
}

# median_table UNIT ROUNDS ROW...: median_rows as a table.
median_table() {
  local unit="$1" rounds="$2"
  shift 2
  printf '\nmedian of %s rounds\n%-12s %16s %16s %12s\n' "$rounds" regulariser \
    "qsdc $unit" "torch $unit" qsdc/torch
  median_rows "$@" | awk '{ printf "%-12s %16s %16s %12s\n", $1, $2, $3, $4 }'
}

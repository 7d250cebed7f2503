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

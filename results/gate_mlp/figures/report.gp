# Written by qsdc report: every figure of this directory, as SVG and PNG.
cd 'results/gate_mlp/figures'
set encoding utf8
pngterm = strstrt(GPVAL_TERMINALS, 'pngcairo') > 0 ? 'pngcairo' : 'png'
term(fmt, w, h) = fmt eq 'svg' ? sprintf("set terminal svg size %d,%d dynamic noenhanced font 'Sans,11' background rgb 'white'", w, h) : sprintf("set terminal %s size %d,%d noenhanced font 'Sans,10'", pngterm, w, h)
set grid
set key below
set linetype cycle 10
set linetype 1 lc rgb '#000000' lw 1.5
set linetype 2 lc rgb '#d62728' lw 1.5
set linetype 3 lc rgb '#1f77b4' lw 1.5
set linetype 4 lc rgb '#2ca02c' lw 1.5
set linetype 5 lc rgb '#9467bd' lw 1.5
set linetype 6 lc rgb '#ff7f0e' lw 1.5
set linetype 7 lc rgb '#17becf' lw 1.5
set linetype 8 lc rgb '#8c564b' lw 1.5
set linetype 9 lc rgb '#e377c2' lw 1.5
set linetype 10 lc rgb '#7f7f7f' lw 1.5
do for [fmt in "svg png"] {
  eval term(fmt, 1000, 420)
  set output 'curves-gate_mlp.'.fmt.'.tmp'
set multiplot layout 1,2
set xrange [0.5:60.5]
set title 'training loss by epoch'
set xlabel ''
set ylabel 'mean loss over the epoch'
plot 'curves-gate_mlp.dat' index 0 using 1:2:3 with yerrorlines lt 1 title 'none', \
     'curves-gate_mlp.dat' index 1 using 1:2:3 with yerrorlines lt 2 title 'dropout', \
     'curves-gate_mlp.dat' index 2 using 1:2:3 with yerrorlines lt 3 title 'qsd_unit', \
     'curves-gate_mlp.dat' index 3 using 1:2:3 with yerrorlines lt 4 title 'qsd_unit_anneal', \
     'curves-gate_mlp.dat' index 4 using 1:2:3 with yerrorlines lt 5 title 'qsd_silence', \
     'curves-gate_mlp.dat' index 5 using 1:2:3 with yerrorlines lt 6 title 'qsd_variance', \
     'curves-gate_mlp.dat' index 6 using 1:2:3 with yerrorlines lt 7 title 'dropout_control'
set xtics autofreq
set title 'test accuracy by epoch'
set xlabel ''
set ylabel 'accuracy (%)'
plot 'curves-gate_mlp.dat' index 0 using 1:4:5 with yerrorlines lt 1 title 'none', \
     'curves-gate_mlp.dat' index 1 using 1:4:5 with yerrorlines lt 2 title 'dropout', \
     'curves-gate_mlp.dat' index 2 using 1:4:5 with yerrorlines lt 3 title 'qsd_unit', \
     'curves-gate_mlp.dat' index 3 using 1:4:5 with yerrorlines lt 4 title 'qsd_unit_anneal', \
     'curves-gate_mlp.dat' index 4 using 1:4:5 with yerrorlines lt 5 title 'qsd_silence', \
     'curves-gate_mlp.dat' index 5 using 1:4:5 with yerrorlines lt 6 title 'qsd_variance', \
     'curves-gate_mlp.dat' index 6 using 1:4:5 with yerrorlines lt 7 title 'dropout_control'
set xtics autofreq
set autoscale x
  unset multiplot
  set output
}
do for [fmt in "svg png"] {
  eval term(fmt, 800, 640)
  set output 'sparsity-gate_mlp.'.fmt.'.tmp'
set multiplot layout 2,2
set title 'relu2: fraction of zero units'
set xlabel ''
set ylabel 'fraction of test samples'
set xtics 0.2
plot 'sparsity-gate_mlp.dat' index 0 using 1:2 with histeps lt 1 title 'none', \
     'sparsity-gate_mlp.dat' index 1 using 1:2 with histeps lt 2 title 'dropout', \
     'sparsity-gate_mlp.dat' index 2 using 1:2 with histeps lt 3 title 'qsd_unit', \
     'sparsity-gate_mlp.dat' index 3 using 1:2 with histeps lt 4 title 'qsd_unit_anneal', \
     'sparsity-gate_mlp.dat' index 4 using 1:2 with histeps lt 5 title 'qsd_silence', \
     'sparsity-gate_mlp.dat' index 5 using 1:2 with histeps lt 6 title 'qsd_variance', \
     'sparsity-gate_mlp.dat' index 6 using 1:2 with histeps lt 7 title 'dropout_control'
set xtics autofreq
set title 'relu5: fraction of zero units'
set xlabel ''
set ylabel 'fraction of test samples'
set xtics 0.2
plot 'sparsity-gate_mlp.dat' index 7 using 1:2 with histeps lt 1 title 'none', \
     'sparsity-gate_mlp.dat' index 8 using 1:2 with histeps lt 2 title 'dropout', \
     'sparsity-gate_mlp.dat' index 9 using 1:2 with histeps lt 3 title 'qsd_unit', \
     'sparsity-gate_mlp.dat' index 10 using 1:2 with histeps lt 4 title 'qsd_unit_anneal', \
     'sparsity-gate_mlp.dat' index 11 using 1:2 with histeps lt 5 title 'qsd_silence', \
     'sparsity-gate_mlp.dat' index 12 using 1:2 with histeps lt 6 title 'qsd_variance', \
     'sparsity-gate_mlp.dat' index 13 using 1:2 with histeps lt 7 title 'dropout_control'
set xtics autofreq
set title 'relu2: Hoyer sparsity'
set xlabel ''
set ylabel 'fraction of test samples'
set xtics 0.2
plot 'sparsity-gate_mlp.dat' index 14 using 1:2 with histeps lt 1 title 'none', \
     'sparsity-gate_mlp.dat' index 15 using 1:2 with histeps lt 2 title 'dropout', \
     'sparsity-gate_mlp.dat' index 16 using 1:2 with histeps lt 3 title 'qsd_unit', \
     'sparsity-gate_mlp.dat' index 17 using 1:2 with histeps lt 4 title 'qsd_unit_anneal', \
     'sparsity-gate_mlp.dat' index 18 using 1:2 with histeps lt 5 title 'qsd_silence', \
     'sparsity-gate_mlp.dat' index 19 using 1:2 with histeps lt 6 title 'qsd_variance', \
     'sparsity-gate_mlp.dat' index 20 using 1:2 with histeps lt 7 title 'dropout_control'
set xtics autofreq
set title 'relu5: Hoyer sparsity'
set xlabel ''
set ylabel 'fraction of test samples'
set xtics 0.1
plot 'sparsity-gate_mlp.dat' index 21 using 1:2 with histeps lt 1 title 'none', \
     'sparsity-gate_mlp.dat' index 22 using 1:2 with histeps lt 2 title 'dropout', \
     'sparsity-gate_mlp.dat' index 23 using 1:2 with histeps lt 3 title 'qsd_unit', \
     'sparsity-gate_mlp.dat' index 24 using 1:2 with histeps lt 4 title 'qsd_unit_anneal', \
     'sparsity-gate_mlp.dat' index 25 using 1:2 with histeps lt 5 title 'qsd_silence', \
     'sparsity-gate_mlp.dat' index 26 using 1:2 with histeps lt 6 title 'qsd_variance', \
     'sparsity-gate_mlp.dat' index 27 using 1:2 with histeps lt 7 title 'dropout_control'
set xtics autofreq
  unset multiplot
  set output
}
do for [fmt in "svg png"] {
  eval term(fmt, 1200, 340)
  set output 'weights-gate_mlp.'.fmt.'.tmp'
set multiplot layout 1,3
set title 'dense1.weight'
set xlabel ''
set ylabel 'density'
set xtics 0.1
plot 'weights-gate_mlp.dat' index 0 using 1:2 with histeps lt 1 title 'none', \
     'weights-gate_mlp.dat' index 1 using 1:2 with histeps lt 2 title 'dropout', \
     'weights-gate_mlp.dat' index 2 using 1:2 with histeps lt 3 title 'qsd_unit', \
     'weights-gate_mlp.dat' index 3 using 1:2 with histeps lt 4 title 'qsd_unit_anneal', \
     'weights-gate_mlp.dat' index 4 using 1:2 with histeps lt 5 title 'qsd_silence', \
     'weights-gate_mlp.dat' index 5 using 1:2 with histeps lt 6 title 'qsd_variance', \
     'weights-gate_mlp.dat' index 6 using 1:2 with histeps lt 7 title 'dropout_control'
set xtics autofreq
set title 'dense4.weight'
set xlabel ''
set ylabel 'density'
set xtics 0.1
plot 'weights-gate_mlp.dat' index 7 using 1:2 with histeps lt 1 title 'none', \
     'weights-gate_mlp.dat' index 8 using 1:2 with histeps lt 2 title 'dropout', \
     'weights-gate_mlp.dat' index 9 using 1:2 with histeps lt 3 title 'qsd_unit', \
     'weights-gate_mlp.dat' index 10 using 1:2 with histeps lt 4 title 'qsd_unit_anneal', \
     'weights-gate_mlp.dat' index 11 using 1:2 with histeps lt 5 title 'qsd_silence', \
     'weights-gate_mlp.dat' index 12 using 1:2 with histeps lt 6 title 'qsd_variance', \
     'weights-gate_mlp.dat' index 13 using 1:2 with histeps lt 7 title 'dropout_control'
set xtics autofreq
set title 'logits.weight'
set xlabel ''
set ylabel 'density'
set xtics 0.5
plot 'weights-gate_mlp.dat' index 14 using 1:2 with histeps lt 1 title 'none', \
     'weights-gate_mlp.dat' index 15 using 1:2 with histeps lt 2 title 'dropout', \
     'weights-gate_mlp.dat' index 16 using 1:2 with histeps lt 3 title 'qsd_unit', \
     'weights-gate_mlp.dat' index 17 using 1:2 with histeps lt 4 title 'qsd_unit_anneal', \
     'weights-gate_mlp.dat' index 18 using 1:2 with histeps lt 5 title 'qsd_silence', \
     'weights-gate_mlp.dat' index 19 using 1:2 with histeps lt 6 title 'qsd_variance', \
     'weights-gate_mlp.dat' index 20 using 1:2 with histeps lt 7 title 'dropout_control'
set xtics autofreq
  unset multiplot
  set output
}
do for [fmt in "svg png"] {
  eval term(fmt, 1200, 340)
  set output 'biases-gate_mlp.'.fmt.'.tmp'
set multiplot layout 1,3
set title 'dense1.bias'
set xlabel ''
set ylabel 'density'
set xtics 0.5
plot 'biases-gate_mlp.dat' index 0 using 1:2 with histeps lt 1 title 'none', \
     'biases-gate_mlp.dat' index 1 using 1:2 with histeps lt 2 title 'dropout', \
     'biases-gate_mlp.dat' index 2 using 1:2 with histeps lt 3 title 'qsd_unit', \
     'biases-gate_mlp.dat' index 3 using 1:2 with histeps lt 4 title 'qsd_unit_anneal', \
     'biases-gate_mlp.dat' index 4 using 1:2 with histeps lt 5 title 'qsd_silence', \
     'biases-gate_mlp.dat' index 5 using 1:2 with histeps lt 6 title 'qsd_variance', \
     'biases-gate_mlp.dat' index 6 using 1:2 with histeps lt 7 title 'dropout_control'
set xtics autofreq
set title 'dense4.bias'
set xlabel ''
set ylabel 'density'
set xtics 0.2
plot 'biases-gate_mlp.dat' index 7 using 1:2 with histeps lt 1 title 'none', \
     'biases-gate_mlp.dat' index 8 using 1:2 with histeps lt 2 title 'dropout', \
     'biases-gate_mlp.dat' index 9 using 1:2 with histeps lt 3 title 'qsd_unit', \
     'biases-gate_mlp.dat' index 10 using 1:2 with histeps lt 4 title 'qsd_unit_anneal', \
     'biases-gate_mlp.dat' index 11 using 1:2 with histeps lt 5 title 'qsd_silence', \
     'biases-gate_mlp.dat' index 12 using 1:2 with histeps lt 6 title 'qsd_variance', \
     'biases-gate_mlp.dat' index 13 using 1:2 with histeps lt 7 title 'dropout_control'
set xtics autofreq
set title 'logits.bias'
set xlabel ''
set ylabel 'density'
set xtics 0.5
plot 'biases-gate_mlp.dat' index 14 using 1:2 with histeps lt 1 title 'none', \
     'biases-gate_mlp.dat' index 15 using 1:2 with histeps lt 2 title 'dropout', \
     'biases-gate_mlp.dat' index 16 using 1:2 with histeps lt 3 title 'qsd_unit', \
     'biases-gate_mlp.dat' index 17 using 1:2 with histeps lt 4 title 'qsd_unit_anneal', \
     'biases-gate_mlp.dat' index 18 using 1:2 with histeps lt 5 title 'qsd_silence', \
     'biases-gate_mlp.dat' index 19 using 1:2 with histeps lt 6 title 'qsd_variance', \
     'biases-gate_mlp.dat' index 20 using 1:2 with histeps lt 7 title 'dropout_control'
set xtics autofreq
  unset multiplot
  set output
}
do for [fmt in "svg png"] {
  eval term(fmt, 720, 440)
  set output 'masks-gate_mlp.'.fmt.'.tmp'
set title 'masks m drawn on the device (first regularised layer)'
set xlabel ''
set ylabel 'density'
plot 'masks-gate_mlp.dat' index 0 using 1:2 with histeps lt 2 title 'dropout, Pr[m=0] = 0.320', \
     'masks-gate_mlp.dat' index 1 using 1:2 with histeps lt 3 title 'qsd_unit, Pr[m=0] = 0.180', \
     'masks-gate_mlp.dat' index 2 using 1:2 with histeps lt 4 title 'qsd_unit_anneal, Pr[m=0] = 0.180', \
     'masks-gate_mlp.dat' index 3 using 1:2 with histeps lt 5 title 'qsd_silence, Pr[m=0] = 0.200', \
     'masks-gate_mlp.dat' index 4 using 1:2 with histeps lt 6 title 'qsd_variance, Pr[m=0] = 0.177', \
     'masks-gate_mlp.dat' index 5 using 1:2 with histeps lt 7 title 'dropout_control, Pr[m=0] = 0.393'
set xtics autofreq
  unset multiplot
  set output
}

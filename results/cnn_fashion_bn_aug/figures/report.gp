# Written by qsdc report: every figure of this directory, as SVG and PNG.
cd 'results/cnn_fashion_bn_aug/figures'
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
  set output 'curves-cnn_fashion_bn_aug.'.fmt.'.tmp'
set multiplot layout 1,2
set xrange [0.5:10.5]
set title 'training loss by epoch'
set xlabel ''
set ylabel 'mean loss over the epoch'
set xtics 1
plot 'curves-cnn_fashion_bn_aug.dat' index 0 using 1:2:3 with yerrorlines lt 1 title 'none', \
     'curves-cnn_fashion_bn_aug.dat' index 1 using 1:2:3 with yerrorlines lt 2 title 'dropout', \
     'curves-cnn_fashion_bn_aug.dat' index 2 using 1:2:3 with yerrorlines lt 3 title 'qsd_variance', \
     'curves-cnn_fashion_bn_aug.dat' index 3 using 1:2:3 with yerrorlines lt 4 title 'qsd_silence'
set xtics autofreq
set title 'test accuracy by epoch'
set xlabel ''
set ylabel 'accuracy (%)'
set xtics 1
plot 'curves-cnn_fashion_bn_aug.dat' index 0 using 1:4:5 with yerrorlines lt 1 title 'none', \
     'curves-cnn_fashion_bn_aug.dat' index 1 using 1:4:5 with yerrorlines lt 2 title 'dropout', \
     'curves-cnn_fashion_bn_aug.dat' index 2 using 1:4:5 with yerrorlines lt 3 title 'qsd_variance', \
     'curves-cnn_fashion_bn_aug.dat' index 3 using 1:4:5 with yerrorlines lt 4 title 'qsd_silence'
set xtics autofreq
set autoscale x
  unset multiplot
  set output
}
do for [fmt in "svg png"] {
  eval term(fmt, 1200, 640)
  set output 'sparsity-cnn_fashion_bn_aug.'.fmt.'.tmp'
set multiplot layout 2,3
set title 'relu2: fraction of zero units'
set xlabel ''
set ylabel 'fraction of test samples'
set xtics 0.2
plot 'sparsity-cnn_fashion_bn_aug.dat' index 0 using 1:2 with histeps lt 1 title 'none', \
     'sparsity-cnn_fashion_bn_aug.dat' index 1 using 1:2 with histeps lt 2 title 'dropout', \
     'sparsity-cnn_fashion_bn_aug.dat' index 2 using 1:2 with histeps lt 3 title 'qsd_variance', \
     'sparsity-cnn_fashion_bn_aug.dat' index 3 using 1:2 with histeps lt 4 title 'qsd_silence'
set xtics autofreq
set title 'relu7: fraction of zero units'
set xlabel ''
set ylabel 'fraction of test samples'
set xtics 0.2
plot 'sparsity-cnn_fashion_bn_aug.dat' index 4 using 1:2 with histeps lt 1 title 'none', \
     'sparsity-cnn_fashion_bn_aug.dat' index 5 using 1:2 with histeps lt 2 title 'dropout', \
     'sparsity-cnn_fashion_bn_aug.dat' index 6 using 1:2 with histeps lt 3 title 'qsd_variance', \
     'sparsity-cnn_fashion_bn_aug.dat' index 7 using 1:2 with histeps lt 4 title 'qsd_silence'
set xtics autofreq
set title 'relu13: fraction of zero units'
set xlabel ''
set ylabel 'fraction of test samples'
set xtics 0.2
plot 'sparsity-cnn_fashion_bn_aug.dat' index 8 using 1:2 with histeps lt 1 title 'none', \
     'sparsity-cnn_fashion_bn_aug.dat' index 9 using 1:2 with histeps lt 2 title 'dropout', \
     'sparsity-cnn_fashion_bn_aug.dat' index 10 using 1:2 with histeps lt 3 title 'qsd_variance', \
     'sparsity-cnn_fashion_bn_aug.dat' index 11 using 1:2 with histeps lt 4 title 'qsd_silence'
set xtics autofreq
set title 'relu2: Hoyer sparsity'
set xlabel ''
set ylabel 'fraction of test samples'
set xtics 0.2
plot 'sparsity-cnn_fashion_bn_aug.dat' index 12 using 1:2 with histeps lt 1 title 'none', \
     'sparsity-cnn_fashion_bn_aug.dat' index 13 using 1:2 with histeps lt 2 title 'dropout', \
     'sparsity-cnn_fashion_bn_aug.dat' index 14 using 1:2 with histeps lt 3 title 'qsd_variance', \
     'sparsity-cnn_fashion_bn_aug.dat' index 15 using 1:2 with histeps lt 4 title 'qsd_silence'
set xtics autofreq
set title 'relu7: Hoyer sparsity'
set xlabel ''
set ylabel 'fraction of test samples'
set xtics 0.2
plot 'sparsity-cnn_fashion_bn_aug.dat' index 16 using 1:2 with histeps lt 1 title 'none', \
     'sparsity-cnn_fashion_bn_aug.dat' index 17 using 1:2 with histeps lt 2 title 'dropout', \
     'sparsity-cnn_fashion_bn_aug.dat' index 18 using 1:2 with histeps lt 3 title 'qsd_variance', \
     'sparsity-cnn_fashion_bn_aug.dat' index 19 using 1:2 with histeps lt 4 title 'qsd_silence'
set xtics autofreq
set title 'relu13: Hoyer sparsity'
set xlabel ''
set ylabel 'fraction of test samples'
set xtics 0.2
plot 'sparsity-cnn_fashion_bn_aug.dat' index 20 using 1:2 with histeps lt 1 title 'none', \
     'sparsity-cnn_fashion_bn_aug.dat' index 21 using 1:2 with histeps lt 2 title 'dropout', \
     'sparsity-cnn_fashion_bn_aug.dat' index 22 using 1:2 with histeps lt 3 title 'qsd_variance', \
     'sparsity-cnn_fashion_bn_aug.dat' index 23 using 1:2 with histeps lt 4 title 'qsd_silence'
set xtics autofreq
  unset multiplot
  set output
}
do for [fmt in "svg png"] {
  eval term(fmt, 1200, 1360)
  set output 'weights-cnn_fashion_bn_aug.'.fmt.'.tmp'
set multiplot layout 4,3
set title 'conv2d0.weight'
set xlabel ''
set ylabel 'density'
set xtics 1
plot 'weights-cnn_fashion_bn_aug.dat' index 0 using 1:2 with histeps lt 1 title 'none', \
     'weights-cnn_fashion_bn_aug.dat' index 1 using 1:2 with histeps lt 2 title 'dropout', \
     'weights-cnn_fashion_bn_aug.dat' index 2 using 1:2 with histeps lt 3 title 'qsd_variance', \
     'weights-cnn_fashion_bn_aug.dat' index 3 using 1:2 with histeps lt 4 title 'qsd_silence'
set xtics autofreq
set title 'batchnorm1.affine'
set xlabel ''
set ylabel 'density'
set xtics 1
plot 'weights-cnn_fashion_bn_aug.dat' index 4 using 1:2 with histeps lt 1 title 'none', \
     'weights-cnn_fashion_bn_aug.dat' index 5 using 1:2 with histeps lt 2 title 'dropout', \
     'weights-cnn_fashion_bn_aug.dat' index 6 using 1:2 with histeps lt 3 title 'qsd_variance', \
     'weights-cnn_fashion_bn_aug.dat' index 7 using 1:2 with histeps lt 4 title 'qsd_silence'
set xtics autofreq
set title 'batchnorm1.running'
set xlabel ''
set ylabel 'density'
set xtics 0.5
plot 'weights-cnn_fashion_bn_aug.dat' index 8 using 1:2 with histeps lt 1 title 'none', \
     'weights-cnn_fashion_bn_aug.dat' index 9 using 1:2 with histeps lt 2 title 'dropout', \
     'weights-cnn_fashion_bn_aug.dat' index 10 using 1:2 with histeps lt 3 title 'qsd_variance', \
     'weights-cnn_fashion_bn_aug.dat' index 11 using 1:2 with histeps lt 4 title 'qsd_silence'
set xtics autofreq
set title 'conv2d5.weight'
set xlabel ''
set ylabel 'density'
set xtics 0.2
plot 'weights-cnn_fashion_bn_aug.dat' index 12 using 1:2 with histeps lt 1 title 'none', \
     'weights-cnn_fashion_bn_aug.dat' index 13 using 1:2 with histeps lt 2 title 'dropout', \
     'weights-cnn_fashion_bn_aug.dat' index 14 using 1:2 with histeps lt 3 title 'qsd_variance', \
     'weights-cnn_fashion_bn_aug.dat' index 15 using 1:2 with histeps lt 4 title 'qsd_silence'
set xtics autofreq
set title 'batchnorm6.affine'
set xlabel ''
set ylabel 'density'
set xtics 1
plot 'weights-cnn_fashion_bn_aug.dat' index 16 using 1:2 with histeps lt 1 title 'none', \
     'weights-cnn_fashion_bn_aug.dat' index 17 using 1:2 with histeps lt 2 title 'dropout', \
     'weights-cnn_fashion_bn_aug.dat' index 18 using 1:2 with histeps lt 3 title 'qsd_variance', \
     'weights-cnn_fashion_bn_aug.dat' index 19 using 1:2 with histeps lt 4 title 'qsd_silence'
set xtics autofreq
set title 'batchnorm6.running'
set xlabel ''
set ylabel 'density'
set xtics 5
plot 'weights-cnn_fashion_bn_aug.dat' index 20 using 1:2 with histeps lt 1 title 'none', \
     'weights-cnn_fashion_bn_aug.dat' index 21 using 1:2 with histeps lt 2 title 'dropout', \
     'weights-cnn_fashion_bn_aug.dat' index 22 using 1:2 with histeps lt 3 title 'qsd_variance', \
     'weights-cnn_fashion_bn_aug.dat' index 23 using 1:2 with histeps lt 4 title 'qsd_silence'
set xtics autofreq
set title 'dense11.weight'
set xlabel ''
set ylabel 'density'
set xtics 0.05
plot 'weights-cnn_fashion_bn_aug.dat' index 24 using 1:2 with histeps lt 1 title 'none', \
     'weights-cnn_fashion_bn_aug.dat' index 25 using 1:2 with histeps lt 2 title 'dropout', \
     'weights-cnn_fashion_bn_aug.dat' index 26 using 1:2 with histeps lt 3 title 'qsd_variance', \
     'weights-cnn_fashion_bn_aug.dat' index 27 using 1:2 with histeps lt 4 title 'qsd_silence'
set xtics autofreq
set title 'batchnorm12.affine'
set xlabel ''
set ylabel 'density'
set xtics 0.5
plot 'weights-cnn_fashion_bn_aug.dat' index 28 using 1:2 with histeps lt 1 title 'none', \
     'weights-cnn_fashion_bn_aug.dat' index 29 using 1:2 with histeps lt 2 title 'dropout', \
     'weights-cnn_fashion_bn_aug.dat' index 30 using 1:2 with histeps lt 3 title 'qsd_variance', \
     'weights-cnn_fashion_bn_aug.dat' index 31 using 1:2 with histeps lt 4 title 'qsd_silence'
set xtics autofreq
set title 'batchnorm12.running'
set xlabel ''
set ylabel 'density'
set xtics 10
plot 'weights-cnn_fashion_bn_aug.dat' index 32 using 1:2 with histeps lt 1 title 'none', \
     'weights-cnn_fashion_bn_aug.dat' index 33 using 1:2 with histeps lt 2 title 'dropout', \
     'weights-cnn_fashion_bn_aug.dat' index 34 using 1:2 with histeps lt 3 title 'qsd_variance', \
     'weights-cnn_fashion_bn_aug.dat' index 35 using 1:2 with histeps lt 4 title 'qsd_silence'
set xtics autofreq
set title 'logits.weight'
set xlabel ''
set ylabel 'density'
set xtics 0.5
plot 'weights-cnn_fashion_bn_aug.dat' index 36 using 1:2 with histeps lt 1 title 'none', \
     'weights-cnn_fashion_bn_aug.dat' index 37 using 1:2 with histeps lt 2 title 'dropout', \
     'weights-cnn_fashion_bn_aug.dat' index 38 using 1:2 with histeps lt 3 title 'qsd_variance', \
     'weights-cnn_fashion_bn_aug.dat' index 39 using 1:2 with histeps lt 4 title 'qsd_silence'
set xtics autofreq
  unset multiplot
  set output
}
do for [fmt in "svg png"] {
  eval term(fmt, 400, 340)
  set output 'biases-cnn_fashion_bn_aug.'.fmt.'.tmp'
set multiplot layout 1,1
set title 'logits.bias'
set xlabel ''
set ylabel 'density'
set xtics 0.5
plot 'biases-cnn_fashion_bn_aug.dat' index 0 using 1:2 with histeps lt 1 title 'none', \
     'biases-cnn_fashion_bn_aug.dat' index 1 using 1:2 with histeps lt 2 title 'dropout', \
     'biases-cnn_fashion_bn_aug.dat' index 2 using 1:2 with histeps lt 3 title 'qsd_variance', \
     'biases-cnn_fashion_bn_aug.dat' index 3 using 1:2 with histeps lt 4 title 'qsd_silence'
set xtics autofreq
  unset multiplot
  set output
}
do for [fmt in "svg png"] {
  eval term(fmt, 720, 440)
  set output 'masks-cnn_fashion_bn_aug.'.fmt.'.tmp'
set title 'masks m drawn on the device (first regularised layer)'
set xlabel ''
set ylabel 'density'
plot 'masks-cnn_fashion_bn_aug.dat' index 0 using 1:2 with histeps lt 2 title 'dropout, Pr[m=0] = 0.200', \
     'masks-cnn_fashion_bn_aug.dat' index 1 using 1:2 with histeps lt 3 title 'qsd_variance, Pr[m=0] = 0.020', \
     'masks-cnn_fashion_bn_aug.dat' index 2 using 1:2 with histeps lt 4 title 'qsd_silence, Pr[m=0] = 0.199'
set xtics autofreq
  unset multiplot
  set output
}

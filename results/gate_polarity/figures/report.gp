# Written by qsdc report: every figure of this directory, as SVG and PNG.
cd 'results/gate_polarity/figures'
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
  set output 'curves-gate_polarity.'.fmt.'.tmp'
set multiplot layout 1,2
set xrange [0.5:15.5]
set title 'training loss by epoch'
set xlabel ''
set ylabel 'mean loss over the epoch'
set xtics 1
plot 'curves-gate_polarity.dat' index 0 using 1:2:3 with yerrorlines lt 1 title 'none', \
     'curves-gate_polarity.dat' index 1 using 1:2:3 with yerrorlines lt 2 title 'dropout', \
     'curves-gate_polarity.dat' index 2 using 1:2:3 with yerrorlines lt 3 title 'qsd_unit', \
     'curves-gate_polarity.dat' index 3 using 1:2:3 with yerrorlines lt 4 title 'qsd_unit_anneal', \
     'curves-gate_polarity.dat' index 4 using 1:2:3 with yerrorlines lt 5 title 'qsd_silence', \
     'curves-gate_polarity.dat' index 5 using 1:2:3 with yerrorlines lt 6 title 'qsd_variance', \
     'curves-gate_polarity.dat' index 6 using 1:2:3 with yerrorlines lt 7 title 'dropout_control'
set xtics autofreq
set title 'test accuracy by epoch'
set xlabel ''
set ylabel 'accuracy (%)'
set xtics 1
plot 'curves-gate_polarity.dat' index 0 using 1:4:5 with yerrorlines lt 1 title 'none', \
     'curves-gate_polarity.dat' index 1 using 1:4:5 with yerrorlines lt 2 title 'dropout', \
     'curves-gate_polarity.dat' index 2 using 1:4:5 with yerrorlines lt 3 title 'qsd_unit', \
     'curves-gate_polarity.dat' index 3 using 1:4:5 with yerrorlines lt 4 title 'qsd_unit_anneal', \
     'curves-gate_polarity.dat' index 4 using 1:4:5 with yerrorlines lt 5 title 'qsd_silence', \
     'curves-gate_polarity.dat' index 5 using 1:4:5 with yerrorlines lt 6 title 'qsd_variance', \
     'curves-gate_polarity.dat' index 6 using 1:4:5 with yerrorlines lt 7 title 'dropout_control'
set xtics autofreq
set autoscale x
  unset multiplot
  set output
}
do for [fmt in "svg png"] {
  eval term(fmt, 1200, 680)
  set output 'weights-gate_polarity.'.fmt.'.tmp'
set multiplot layout 2,3
set title 'embedding0.weight'
set xlabel ''
set ylabel 'density'
set xtics 0.2
plot 'weights-gate_polarity.dat' index 0 using 1:2 with histeps lt 1 title 'none', \
     'weights-gate_polarity.dat' index 1 using 1:2 with histeps lt 2 title 'dropout', \
     'weights-gate_polarity.dat' index 2 using 1:2 with histeps lt 3 title 'qsd_unit', \
     'weights-gate_polarity.dat' index 3 using 1:2 with histeps lt 4 title 'qsd_unit_anneal', \
     'weights-gate_polarity.dat' index 4 using 1:2 with histeps lt 5 title 'qsd_silence', \
     'weights-gate_polarity.dat' index 5 using 1:2 with histeps lt 6 title 'qsd_variance', \
     'weights-gate_polarity.dat' index 6 using 1:2 with histeps lt 7 title 'dropout_control'
set xtics autofreq
set title 'lstm2.weight'
set xlabel ''
set ylabel 'density'
set xtics 0.2
plot 'weights-gate_polarity.dat' index 7 using 1:2 with histeps lt 1 title 'none', \
     'weights-gate_polarity.dat' index 8 using 1:2 with histeps lt 2 title 'dropout', \
     'weights-gate_polarity.dat' index 9 using 1:2 with histeps lt 3 title 'qsd_unit', \
     'weights-gate_polarity.dat' index 10 using 1:2 with histeps lt 4 title 'qsd_unit_anneal', \
     'weights-gate_polarity.dat' index 11 using 1:2 with histeps lt 5 title 'qsd_silence', \
     'weights-gate_polarity.dat' index 12 using 1:2 with histeps lt 6 title 'qsd_variance', \
     'weights-gate_polarity.dat' index 13 using 1:2 with histeps lt 7 title 'dropout_control'
set xtics autofreq
set title 'lstm2.recurrent'
set xlabel ''
set ylabel 'density'
set xtics 0.2
plot 'weights-gate_polarity.dat' index 14 using 1:2 with histeps lt 1 title 'none', \
     'weights-gate_polarity.dat' index 15 using 1:2 with histeps lt 2 title 'dropout', \
     'weights-gate_polarity.dat' index 16 using 1:2 with histeps lt 3 title 'qsd_unit', \
     'weights-gate_polarity.dat' index 17 using 1:2 with histeps lt 4 title 'qsd_unit_anneal', \
     'weights-gate_polarity.dat' index 18 using 1:2 with histeps lt 5 title 'qsd_silence', \
     'weights-gate_polarity.dat' index 19 using 1:2 with histeps lt 6 title 'qsd_variance', \
     'weights-gate_polarity.dat' index 20 using 1:2 with histeps lt 7 title 'dropout_control'
set xtics autofreq
set title 'dense5.weight'
set xlabel ''
set ylabel 'density'
set xtics 0.5
plot 'weights-gate_polarity.dat' index 21 using 1:2 with histeps lt 1 title 'none', \
     'weights-gate_polarity.dat' index 22 using 1:2 with histeps lt 2 title 'dropout', \
     'weights-gate_polarity.dat' index 23 using 1:2 with histeps lt 3 title 'qsd_unit', \
     'weights-gate_polarity.dat' index 24 using 1:2 with histeps lt 4 title 'qsd_unit_anneal', \
     'weights-gate_polarity.dat' index 25 using 1:2 with histeps lt 5 title 'qsd_silence', \
     'weights-gate_polarity.dat' index 26 using 1:2 with histeps lt 6 title 'qsd_variance', \
     'weights-gate_polarity.dat' index 27 using 1:2 with histeps lt 7 title 'dropout_control'
set xtics autofreq
  unset multiplot
  set output
}
do for [fmt in "svg png"] {
  eval term(fmt, 800, 340)
  set output 'biases-gate_polarity.'.fmt.'.tmp'
set multiplot layout 1,2
set title 'lstm2.bias'
set xlabel ''
set ylabel 'density'
set xtics 0.1
plot 'biases-gate_polarity.dat' index 0 using 1:2 with histeps lt 1 title 'none', \
     'biases-gate_polarity.dat' index 1 using 1:2 with histeps lt 2 title 'dropout', \
     'biases-gate_polarity.dat' index 2 using 1:2 with histeps lt 3 title 'qsd_unit', \
     'biases-gate_polarity.dat' index 3 using 1:2 with histeps lt 4 title 'qsd_unit_anneal', \
     'biases-gate_polarity.dat' index 4 using 1:2 with histeps lt 5 title 'qsd_silence', \
     'biases-gate_polarity.dat' index 5 using 1:2 with histeps lt 6 title 'qsd_variance', \
     'biases-gate_polarity.dat' index 6 using 1:2 with histeps lt 7 title 'dropout_control'
set xtics autofreq
set title 'dense5.bias'
set xlabel ''
set ylabel 'density'
set xtics 0.02
set xrange [0:1]
set yrange [0:1]
plot 2 notitle
set autoscale
set xtics autofreq
  unset multiplot
  set output
}
do for [fmt in "svg png"] {
  eval term(fmt, 720, 440)
  set output 'masks-gate_polarity.'.fmt.'.tmp'
set title 'masks m drawn on the device (first regularised layer)'
set xlabel ''
set ylabel 'density'
plot 'masks-gate_polarity.dat' index 0 using 1:2 with histeps lt 2 title 'dropout, Pr[m=0] = 0.580', \
     'masks-gate_polarity.dat' index 1 using 1:2 with histeps lt 3 title 'qsd_unit, Pr[m=0] = 0.580', \
     'masks-gate_polarity.dat' index 2 using 1:2 with histeps lt 4 title 'qsd_unit_anneal, Pr[m=0] = 0.580', \
     'masks-gate_polarity.dat' index 3 using 1:2 with histeps lt 5 title 'qsd_silence, Pr[m=0] = 0.620', \
     'masks-gate_polarity.dat' index 4 using 1:2 with histeps lt 6 title 'qsd_variance, Pr[m=0] = 0.504', \
     'masks-gate_polarity.dat' index 5 using 1:2 with histeps lt 7 title 'dropout_control, Pr[m=0] = 0.664'
set xtics autofreq
  unset multiplot
  set output
}

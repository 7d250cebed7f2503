/* The monotonic clock that timings and progress read. */
#ifndef QSDC_CLOCK_H
#define QSDC_CLOCK_H

/* Seconds since an arbitrary fixed point. */
double now_seconds(void);

#endif

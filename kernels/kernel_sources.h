/* OpenCL C sources from kernels/, embedded at build time. */
#ifndef QSDC_KERNEL_SOURCES_H
#define QSDC_KERNEL_SOURCES_H

/* The text of kernels/NAME (e.g. "qsd.cl", "philox.cl"), or NULL. */
const char *kernel_source(const char *name);

#endif

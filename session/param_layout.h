/* How qsdc's parameters map to the layouts of ONNX and PyTorch: qsdc keeps
 * a dense or lstm input weight as [in, out] (x W), ONNX's Gemm reads it as
 * it is, PyTorch and ONNX's LSTM want [out, in]; an lstm's four gate blocks
 * of h columns are i, f, g, o in qsdc and PyTorch, i, o, f, c in ONNX. */
#ifndef QSDC_PARAM_LAYOUT_H
#define QSDC_PARAM_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>

/* Which qsdc gate block each output block takes, in order. */
extern const int LAYOUT_GATES_TORCH[4];
extern const int LAYOUT_GATES_ONNX[4];

/* w [rows, gates * h] -> out [gates * h, rows], output block k taken from
 * w's block order[k] (order NULL: as they are; a plain transpose with
 * gates 1). back: the inverse, w [gates * h, rows] -> out [rows, gates * h]. */
void layout_transpose(const float *w, int64_t rows, int64_t h, int gates, const int *order,
                      float *out, bool back);
/* b [4 h] -> out [4 h] with its blocks in order. */
void layout_gates(const float *b, int64_t h, const int *order, float *out);

#endif

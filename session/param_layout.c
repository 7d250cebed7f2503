/* qsdc's parameter layouts to ONNX's and PyTorch's (param_layout.h). */
#include "param_layout.h"

#include <string.h>

const int LAYOUT_GATES_TORCH[4] = {0, 1, 2, 3};
const int LAYOUT_GATES_ONNX[4] = {0, 3, 1, 2};

void layout_transpose(const float *w, int64_t rows, int64_t h, int gates, const int *order,
                      float *out, bool back)
{
    int64_t cols = gates * h;
    for (int k = 0; k < gates; k++) {
        int64_t from = (order ? order[k] : k) * h;
        for (int64_t j = 0; j < h; j++)
            for (int64_t r = 0; r < rows; r++) {
                int64_t q = r * cols + from + j, t = (k * h + j) * rows + r;
                if (back)
                    out[q] = w[t];
                else
                    out[t] = w[q];
            }
    }
}

void layout_gates(const float *b, int64_t h, const int *order, float *out)
{
    for (int k = 0; k < 4; k++)
        memcpy(out + k * h, b + order[k] * h, (size_t)h * sizeof *out);
}

#include "LLMKernels.h"

// Portable float products, written so the compiler vectorizes the inner loops: with B transposed
// each output is a dot product of two contiguous rows, summed in 16 lanes; otherwise each row of
// A scales and adds B's rows into C's row. The diffusion engine splits m between its threads.

static float dot(const float *restrict a, const float *restrict b, int depth) {
    float lanes[16] = {0};
    int k = 0;
    for (; k + 16 <= depth; k += 16) {
        for (int l = 0; l < 16; l++) lanes[l] += a[k + l] * b[k + l];
    }
    for (; k < depth; k++) lanes[k & 15] += a[k] * b[k];
    for (int width = 8; width > 0; width /= 2) {
        for (int l = 0; l < width; l++) lanes[l] += lanes[l + width];
    }
    return lanes[0];
}

void llmk_sgemm(int b_transposed, int m, int n, int depth, const float *a, int lda, const float *b, int ldb, float *c,
                int ldc, int accumulate) {
    for (int i = 0; i < m; i++) {
        const float *restrict row = a + (size_t)i * lda;
        float *restrict out = c + (size_t)i * ldc;
        if (b_transposed) {
            for (int j = 0; j < n; j++) {
                const float value = dot(row, b + (size_t)j * ldb, depth);
                out[j] = accumulate ? out[j] + value : value;
            }
        } else {
            if (!accumulate) {
                for (int j = 0; j < n; j++) out[j] = 0;
            }
            for (int k = 0; k < depth; k++) {
                const float scale = row[k];
                const float *restrict source = b + (size_t)k * ldb;
                for (int j = 0; j < n; j++) out[j] += scale * source[j];
            }
        }
    }
}

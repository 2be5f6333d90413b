#include "LLMKernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "Half.h"

#if defined(__x86_64__) || defined(__i386__)
#define LLMK_X86 1
#endif

// K-quant and plain float weights have no integer path here yet: each row is turned into floats
// once and dotted with every vector of the batch in sixteen fused lanes. The lanes are written as
// plain C so one source serves every machine; compiled a second time for AVX2 + FMA, the compiler
// turns them into vector fused multiply-adds with the same roundings, so both give the same bits.

#define LLMK_INLINE static inline __attribute__((always_inline))

// Everything below is inlined into each compiled copy of the row product, so the AVX2 copy
// converts weights with AVX2 too.
LLMK_INLINE void scale_and_min(int j, const uint8_t *q, uint8_t *scale, uint8_t *minimum) {
    if (j < 4) {
        *scale = q[j] & 63;
        *minimum = q[j + 4] & 63;
    } else {
        *scale = (q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4);
        *minimum = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

LLMK_INLINE void dequantize_q4_K(const uint8_t *block, float *output) {
    const float d = llmk_half_at(block), dmin = llmk_half_at(block + 2);
    const uint8_t *scales = block + 4, *q = block + 16;
    for (int group = 0; group < 8; group += 2) {
        uint8_t scale1, min1, scale2, min2;
        scale_and_min(group, scales, &scale1, &min1);
        scale_and_min(group + 1, scales, &scale2, &min2);
        const float d1 = d * (float)scale1, m1 = dmin * (float)min1;
        const float d2 = d * (float)scale2, m2 = dmin * (float)min2;
        for (int l = 0; l < 32; l++) output[l] = d1 * (float)(q[l] & 0x0F) - m1;
        for (int l = 0; l < 32; l++) output[32 + l] = d2 * (float)(q[l] >> 4) - m2;
        q += 32;
        output += 64;
    }
}

LLMK_INLINE void dequantize_q6_K(const uint8_t *block, float *output) {
    const float d = llmk_half_at(block + 208);
    const uint8_t *ql = block, *qh = block + 128;
    const int8_t *sc = (const int8_t *)(block + 192);
    for (int half = 0; half < 2; half++) {
        for (int l = 0; l < 32; l++) {
            const int group = l / 16;
            const int q1 = (int)((ql[l] & 0x0F) | ((qh[l] >> 0) & 3) << 4) - 32;
            const int q2 = (int)((ql[l + 32] & 0x0F) | ((qh[l] >> 2) & 3) << 4) - 32;
            const int q3 = (int)((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
            const int q4 = (int)((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;
            output[l] = d * (float)sc[group] * (float)q1;
            output[l + 32] = d * (float)sc[group + 2] * (float)q2;
            output[l + 64] = d * (float)sc[group + 4] * (float)q3;
            output[l + 96] = d * (float)sc[group + 6] * (float)q4;
        }
        output += 128;
        ql += 64;
        qh += 32;
        sc += 8;
    }
}

void llmk_dequantize_q4_K(const uint8_t *block, float *output) { dequantize_q4_K(block, output); }

void llmk_dequantize_q6_K(const uint8_t *block, float *output) { dequantize_q6_K(block, output); }

LLMK_INLINE int dequantize_row(int type, const uint8_t *row, int length, float *output) {
    switch (type) {
    case LLMK_F32: memcpy(output, row, sizeof(float) * (size_t)length); return 1;
    case LLMK_F16:
        for (int j = 0; j < length; j++) output[j] = llmk_half_at(row + 2 * j);
        return 1;
    default: return llmk_dequantize_row(type, row, length, output);  // the K-quants and IQ4 types
    }
}

#define LLMK_FLOAT_ROWS(name, attributes)                                                                       \
    attributes static int name(int type, const uint8_t *raw, float *w, const float *input, int length, int batch, \
                               float *output, int stride) {                                                     \
        if (!dequantize_row(type, raw, length, w)) return 0;                                                    \
        for (int b = 0; b < batch; b++) {                                                                       \
            const float *x = input + (size_t)b * length;                                                        \
            float lanes[16] = {0};                                                                              \
            const int whole = length & ~15;                                                                     \
            for (int i = 0; i < whole; i += 16) {                                                               \
                for (int l = 0; l < 16; l++) lanes[l] = fmaf(w[i + l], x[i + l], lanes[l]);                     \
            }                                                                                                   \
            for (int i = whole; i < length; i++) lanes[i - whole] = fmaf(w[i], x[i], lanes[i - whole]);         \
            for (int width = 8; width > 0; width /= 2) {                                                        \
                for (int l = 0; l < width; l++) lanes[l] += lanes[l + width];                                   \
            }                                                                                                   \
            output[(size_t)b * stride] = lanes[0];                                                              \
        }                                                                                                       \
        return 1;                                                                                               \
    }

LLMK_FLOAT_ROWS(float_rows_portable, )
#ifdef LLMK_X86
LLMK_FLOAT_ROWS(float_rows_avx2, __attribute__((target("avx2,fma,f16c"))))
#endif

int llmk_matmul_float_at_level(int level, int type, const void *weights, size_t row_bytes, int length,
                               const float *input, int batch, float *output, int stride, int begin, int end) {
    float *row = (float *)malloc(sizeof(float) * (size_t)length);
    if (!row) return 0;
    int handled = 1;
    for (int r = begin; r < end && handled; r++) {
        const uint8_t *raw = (const uint8_t *)weights + (size_t)r * row_bytes;
#ifdef LLMK_X86
        if ((level < 0 || level > llmk_best_level() ? llmk_best_level() : level) > 0) {
            handled = float_rows_avx2(type, raw, row, input, length, batch, output + r, stride);
            continue;
        }
#endif
        handled = float_rows_portable(type, raw, row, input, length, batch, output + r, stride);
    }
    free(row);
    return handled;
}

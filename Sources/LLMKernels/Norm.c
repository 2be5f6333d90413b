// RMS normalization in the blockwise order: the squares added in eight double lanes side by side
// (element j into lane j % 8), the lanes combined in a fixed tree. A portable copy in plain C and
// an AVX2 one with each row's lanes in two registers of doubles: the same operations in the same
// order either way, so the same bits. Rows go four at a time, their sums side by side: one row's
// eight chains of additions are as long as the row, and alone they kept the processor waiting on
// each addition.

#include "LLMKernels.h"

#include <math.h>

#if defined(__x86_64__) || defined(__i386__)
#define LLMK_X86 1
#endif

static void rms_norm_portable(const float *x, int rows, int length, const float *weight, float epsilon, float *output) {
    for (int r = 0; r < rows; r++) {
        const float *row = x + (size_t)r * length;
        double lane[8] = {0};
        int j = 0;
        for (; j + 8 <= length; j += 8) {
            for (int l = 0; l < 8; l++) lane[l] += (double)(row[j + l] * row[j + l]);
        }
        double sum = ((lane[0] + lane[4]) + (lane[2] + lane[6])) + ((lane[1] + lane[5]) + (lane[3] + lane[7]));
        for (int i = j; i < length; i++) sum += (double)(row[i] * row[i]);
        const float scale = 1.0f / sqrtf((float)(sum / (double)length) + epsilon);
        float *out = output + (size_t)r * length;
        for (int i = 0; i < length; i++) out[i] = row[i] * scale * weight[i];
    }
}

#ifdef LLMK_X86
#include <immintrin.h>

enum { LLMK_NORM_ROWS = 4 };  // rows whose sums go side by side

// rms_norm_portable's arithmetic for `rows` (≤ LLMK_NORM_ROWS) rows side by side, each row's
// eight lanes in two registers of doubles.
__attribute__((target("avx2,fma,f16c"), always_inline)) static inline void rms_norm_rows_avx2(
    const float *x, int rows, int length, const float *weight, float epsilon, float *output) {
    __m256d low[LLMK_NORM_ROWS], high[LLMK_NORM_ROWS];
    for (int r = 0; r < rows; r++) low[r] = high[r] = _mm256_setzero_pd();
    int j = 0;
    for (; j + 8 <= length; j += 8) {
        for (int r = 0; r < rows; r++) {
            const __m256 v = _mm256_loadu_ps(x + (size_t)r * length + j);
            const __m256 squares = _mm256_mul_ps(v, v);
            low[r] = _mm256_add_pd(low[r], _mm256_cvtps_pd(_mm256_castps256_ps128(squares)));
            high[r] = _mm256_add_pd(high[r], _mm256_cvtps_pd(_mm256_extractf128_ps(squares, 1)));
        }
    }
    for (int r = 0; r < rows; r++) {
        double lane[8];
        _mm256_storeu_pd(lane, low[r]);
        _mm256_storeu_pd(lane + 4, high[r]);
        const float *row = x + (size_t)r * length;
        double sum = ((lane[0] + lane[4]) + (lane[2] + lane[6])) + ((lane[1] + lane[5]) + (lane[3] + lane[7]));
        for (int i = j; i < length; i++) sum += (double)(row[i] * row[i]);
        const float scale = 1.0f / sqrtf((float)(sum / (double)length) + epsilon);
        float *out = output + (size_t)r * length;
        int i = 0;
        for (; i + 8 <= length; i += 8) {
            _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(row + i), _mm256_set1_ps(scale)),
                                                    _mm256_loadu_ps(weight + i)));
        }
        for (; i < length; i++) out[i] = row[i] * scale * weight[i];
    }
}

// Each group height its own copy, so the rows' loops unroll.
__attribute__((target("avx2,fma,f16c"))) static void rms_norm_avx2(const float *x, int rows, int length,
                                                                   const float *weight, float epsilon, float *output) {
    int r = 0;
    for (; r + LLMK_NORM_ROWS <= rows; r += LLMK_NORM_ROWS) {
        rms_norm_rows_avx2(x + (size_t)r * length, LLMK_NORM_ROWS, length, weight, epsilon, output + (size_t)r * length);
    }
    switch (rows - r) {
    case 3: rms_norm_rows_avx2(x + (size_t)r * length, 3, length, weight, epsilon, output + (size_t)r * length); break;
    case 2: rms_norm_rows_avx2(x + (size_t)r * length, 2, length, weight, epsilon, output + (size_t)r * length); break;
    case 1: rms_norm_rows_avx2(x + (size_t)r * length, 1, length, weight, epsilon, output + (size_t)r * length); break;
    default: break;
    }
}
#endif

void llmk_rms_norm(const float *x, int rows, int length, const float *weight, float epsilon, float *output) {
    llmk_rms_norm_at_level(llmk_best_level(), x, rows, length, weight, epsilon, output);
}

void llmk_rms_norm_at_level(int level, const float *x, int rows, int length, const float *weight, float epsilon,
                            float *output) {
#ifdef LLMK_X86
    if (level > 0 && llmk_best_level() > 0) return rms_norm_avx2(x, rows, length, weight, epsilon, output);
#endif
    (void)level;
    rms_norm_portable(x, rows, length, weight, epsilon, output);
}

#include "Common.h"
#include "Exp.h"

// Attention's softmax over rows of scores: exp((x − max)·scale) with ggml's exp, summed in eight
// lanes (element i into lane i mod 8) that are then added in a fixed order, so the AVX2 and
// portable paths give the same bits.

static float finish(float *row, int count, int length, const float lanes[8]) {
    const float sum = ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
    const float inverse = 1.0f / sum;
    for (int i = 0; i < count; i++) row[i] *= inverse;
    for (int i = count; i < length; i++) row[i] = 0.0f;
    return sum;
}

static void row_portable(float *row, int count, int length, float scale) {
    float maximum = -INFINITY, lanes[8] = {0};
    for (int i = 0; i < count; i++) maximum = row[i] > maximum ? row[i] : maximum;
    for (int i = 0; i < count; i++) {
        row[i] = llmk_ggml_expf((row[i] - maximum) * scale);
        lanes[i % 8] += row[i];
    }
    finish(row, count, length, lanes);
}

#ifdef LLMK_X86
__attribute__((target("avx2,fma"))) static void row_avx2(float *row, int count, int length, float scale) {
    __m256 top = _mm256_set1_ps(-INFINITY);
    int i = 0;
    for (; i + 8 <= count; i += 8) top = _mm256_max_ps(top, _mm256_loadu_ps(row + i));
    float tops[8], maximum = -INFINITY;
    _mm256_storeu_ps(tops, top);
    for (int k = 0; k < 8; k++) maximum = tops[k] > maximum ? tops[k] : maximum;
    for (; i < count; i++) maximum = row[i] > maximum ? row[i] : maximum;
    const __m256 shift = _mm256_set1_ps(maximum), factor = _mm256_set1_ps(scale);
    __m256 sum = _mm256_setzero_ps();
    for (i = 0; i + 8 <= count; i += 8) {
        _mm256_storeu_ps(row + i, _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(row + i), shift), factor));
        llmk_expf8(row + i);
        sum = _mm256_add_ps(sum, _mm256_loadu_ps(row + i));
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, sum);
    for (; i < count; i++) {
        row[i] = llmk_ggml_expf((row[i] - maximum) * scale);
        lanes[i % 8] += row[i];
    }
    finish(row, count, length, lanes);
}
#endif

void llmk_softmax_rows_at_level(int level, float *rows, int count, int stride, int length, int causal, float scale,
                                int first_row) {
    for (int r = 0; r < count; r++) {
        float *row = rows + (size_t)r * stride;
        const int valid = causal ? first_row + r + 1 : length;
#ifdef LLMK_X86
        if (llmk_level(level) >= 1) {
            row_avx2(row, valid, length, scale);
            continue;
        }
#endif
        row_portable(row, valid, length, scale);
    }
}

void llmk_softmax_rows(float *rows, int count, int stride, int length, int causal, float scale, int first_row) {
    llmk_softmax_rows_at_level(llmk_best_level(), rows, count, stride, length, causal, scale, first_row);
}

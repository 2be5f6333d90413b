#include "Common.h"
#include "Exp.h"
#include "SoftmaxUpdate.h"

// Softmax over rows of scores (the exact mode's attention and CLIP's causal attention) and the
// running update that attention in tiles visits its key blocks with: exp((x − max)·scale) with
// ggml's exp, summed in eight lanes (element i into lane i mod 8) that are then added in a fixed
// order, so the AVX-512, AVX2 and portable paths give the same bits.

/// Rows of `scores` (`count` of them, `stride` apart, `length` valid): p = exp((s − new max)·scale) in
/// place; `maximum`, the eight-lane sums and the output rows (`out`, `out_stride` apart, `width`
/// wide) rescaled by exp((old max − new max)·scale).
static void update_portable(float *scores, int stride, int count, int length, float scale, float *maximum, float (*lanes)[8],
                            float *out, int out_stride, int width) {
    for (int r = 0; r < count; r++) {
        float *row = scores + (size_t)r * stride, top = maximum[r];
        for (int j = 0; j < length; j++) top = row[j] > top ? row[j] : top;
        const float correction = llmk_ggml_expf((maximum[r] - top) * scale);
        maximum[r] = top;
        for (int l = 0; l < 8; l++) lanes[r][l] *= correction;
        for (int d = 0; d < width; d++) out[(size_t)r * out_stride + d] *= correction;
        for (int j = 0; j < length; j++) {
            row[j] = llmk_ggml_expf((row[j] - top) * scale);
            lanes[r][j % 8] += row[j];
        }
    }
}

#ifdef LLMK_X86
// The AVX2 and AVX-512 updates: the same operations on eight or sixteen scores at a time, the sums
// still added eight lanes at a time in order.
#define LLMK_UPDATE_BODY(...)                                                                                \
    for (int r = 0; r < count; r++) {                                                                       \
        float *row = scores + (size_t)r * stride, top = maximum[r];                                             \
        int j = 0;                                                                                          \
        __m256 tops = _mm256_set1_ps(top);                                                                  \
        for (; j + 8 <= length; j += 8) tops = _mm256_max_ps(tops, _mm256_loadu_ps(row + j));               \
        float values[8];                                                                                    \
        _mm256_storeu_ps(values, tops);                                                                     \
        for (int l = 0; l < 8; l++) top = values[l] > top ? values[l] : top;                                \
        for (; j < length; j++) top = row[j] > top ? row[j] : top;                                          \
        const float correction = llmk_ggml_expf((maximum[r] - top) * scale);                                \
        maximum[r] = top;                                                                                   \
        for (int l = 0; l < 8; l++) lanes[r][l] *= correction;                                              \
        for (int d = 0; d < width; d++) out[(size_t)r * out_stride + d] *= correction;                      \
        const __m256 shift = _mm256_set1_ps(top), factor = _mm256_set1_ps(scale);                           \
        __m256 sum = _mm256_loadu_ps(lanes[r]);                                                             \
        j = 0;                                                                                              \
        __VA_ARGS__                                                                                         \
        for (; j + 8 <= length; j += 8) {                                                                   \
            _mm256_storeu_ps(row + j, _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(row + j), shift), factor)); \
            llmk_expf8(row + j);                                                                            \
            sum = _mm256_add_ps(sum, _mm256_loadu_ps(row + j));                                             \
        }                                                                                                   \
        _mm256_storeu_ps(lanes[r], sum);                                                                    \
        for (; j < length; j++) {                                                                           \
            row[j] = llmk_ggml_expf((row[j] - top) * scale);                                                \
            lanes[r][j % 8] += row[j];                                                                      \
        }                                                                                                   \
    }

__attribute__((target("avx2,fma"))) static void update_avx2(float *scores, int stride, int count, int length, float scale,
                                                            float *maximum, float (*lanes)[8], float *out,
                                                            int out_stride, int width) {
    LLMK_UPDATE_BODY()
}

__attribute__((target("avx512f,avx2,fma"))) static void update_avx512(float *scores, int stride, int count, int length,
                                                                     float scale, float *maximum, float (*lanes)[8],
                                                                     float *out, int out_stride, int width) {
    LLMK_UPDATE_BODY(
        const __m512 shift16 = _mm512_set1_ps(top), factor16 = _mm512_set1_ps(scale);
        for (; j + 16 <= length; j += 16) {
            _mm512_storeu_ps(row + j, _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(row + j), shift16), factor16));
            llmk_expf16(row + j);
            sum = _mm256_add_ps(sum, _mm256_loadu_ps(row + j));
            sum = _mm256_add_ps(sum, _mm256_loadu_ps(row + j + 8));
        })
}
#undef LLMK_UPDATE_BODY
#endif

void llmk_softmax_update(int level, float *scores, int stride, int count, int length, float scale, float *maximum,
                         float (*lanes)[8], float *out, int out_stride, int width) {
#ifdef LLMK_X86
    if (level >= 2) {
        update_avx512(scores, stride, count, length, scale, maximum, lanes, out, out_stride, width);
        return;
    }
    if (level >= 1) {
        update_avx2(scores, stride, count, length, scale, maximum, lanes, out, out_stride, width);
        return;
    }
#endif
    update_portable(scores, stride, count, length, scale, maximum, lanes, out, out_stride, width);
}

void llmk_softmax_rows_at_level(int level, float *rows, int count, int stride, int length, int causal, float scale,
                                int first_row) {
    level = llmk_level(level);
    for (int r = 0; r < count; r++) {
        float *row = rows + (size_t)r * stride;
        const int valid = causal ? first_row + r + 1 : length;
        float maximum = -INFINITY, lanes[1][8] = {{0}};
        llmk_softmax_update(level, row, stride, 1, valid, scale, &maximum, lanes, NULL, 0, 0);
        const float inverse = 1.0f / llmk_lane_sum(lanes[0]);
        for (int i = 0; i < valid; i++) row[i] *= inverse;
        for (int i = valid; i < length; i++) row[i] = 0.0f;
    }
}

void llmk_softmax_rows(float *rows, int count, int stride, int length, int causal, float scale, int first_row) {
    llmk_softmax_rows_at_level(llmk_best_level(), rows, count, stride, length, causal, scale, first_row);
}

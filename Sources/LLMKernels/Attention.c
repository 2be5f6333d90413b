#include "LLMKernels.h"

#include <string.h>

#include "Half.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define LLMK_X86 1
#define LLMK_AVX2 __attribute__((target("avx2,fma,f16c")))
#endif

void llmk_to_half(const float *input, uint16_t *output, int count) {
    for (int j = 0; j < count; j++) output[j] = llmk_float_to_half(input[j]);
}

#ifdef LLMK_X86
LLMK_AVX2 static float dot_half_avx2(const float *query, const uint16_t *key, int length) {
    __m256 sum = _mm256_setzero_ps();
    for (int j = 0; j < length; j += 8) {
        const __m256 k = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(key + j)));
        sum = _mm256_fmadd_ps(_mm256_loadu_ps(query + j), k, sum);
    }
    __m128 r = _mm_add_ps(_mm256_extractf128_ps(sum, 1), _mm256_castps256_ps128(sum));
    r = _mm_add_ps(r, _mm_movehl_ps(r, r));
    r = _mm_add_ss(r, _mm_movehdup_ps(r));
    return _mm_cvtss_f32(r);
}

LLMK_AVX2 static void scores_avx2(const float *query, const uint16_t *keys, int stride, int length, int count,
                                  float scale, float *scores) {
    float rounded[length];
    for (int j = 0; j < length; j++) rounded[j] = _cvtsh_ss(_cvtss_sh(query[j], 0));
    for (int t = 0; t < count; t++) scores[t] = dot_half_avx2(rounded, keys + (size_t)t * stride, length) * scale;
}

LLMK_AVX2 static void values_avx2(const float *weights, const uint16_t *values, int stride, int length, int count,
                                  float *output) {
    for (int start = 0; start < length; start += 64) {
        const int lanes = (length - start < 64 ? length - start : 64) / 8;
        __m256 sum[8];
        for (int k = 0; k < 8; k++) sum[k] = _mm256_setzero_ps();
        for (int t = 0; t < count; t++) {
            const __m256 w = _mm256_set1_ps(_cvtsh_ss(_cvtss_sh(weights[t], 0)));
            const uint16_t *value = values + (size_t)t * stride + start;
            for (int k = 0; k < lanes; k++) {
                sum[k] = _mm256_fmadd_ps(w, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(value + 8 * k))), sum[k]);
            }
        }
        for (int k = 0; k < lanes; k++) _mm256_storeu_ps(output + start + 8 * k, sum[k]);
    }
}

static int avx2_for_attention(int length) {
    static int cached = -1;
    if (cached < 0) cached = llmk_best_level() > 0;
    return cached && length % 8 == 0 && length <= 512;
}
#endif

void llmk_attention_scores(const float *query, const uint16_t *keys, int stride, int length, int count, float scale,
                           float *scores) {
#ifdef LLMK_X86
    if (avx2_for_attention(length)) return scores_avx2(query, keys, stride, length, count, scale, scores);
#endif
    float rounded[length];
    for (int j = 0; j < length; j++) rounded[j] = llmk_half_to_float(llmk_float_to_half(query[j]));
    for (int t = 0; t < count; t++) {
        const uint16_t *key = keys + (size_t)t * stride;
        float dot = 0;
        for (int j = 0; j < length; j++) dot += rounded[j] * llmk_half_to_float(key[j]);
        scores[t] = dot * scale;
    }
}

void llmk_attention_values(const float *weights, const uint16_t *values, int stride, int length, int count,
                           float *output) {
#ifdef LLMK_X86
    if (avx2_for_attention(length)) return values_avx2(weights, values, stride, length, count, output);
#endif
    for (int j = 0; j < length; j++) output[j] = 0;
    for (int t = 0; t < count; t++) {
        const float w = llmk_half_to_float(llmk_float_to_half(weights[t]));
        const uint16_t *value = values + (size_t)t * stride;
        for (int j = 0; j < length; j++) output[j] += w * llmk_half_to_float(value[j]);
    }
}

// The sampler's passes over a vocabulary's logits, once per token per sequence: vocabularies
// run to 150,000 entries, and these passes run while the compute threads wait.
#include "LLMKernels.h"

#include <math.h>
#include <string.h>

#include "Common.h"
#include "Exp.h"

// How far below the largest logit (in units of the temperature) a weight is still computed: e^-80
// is below any probability that can matter, and keeps every exp on the vector path.
#define LOWEST -80.0f

// A token's weight, one at a time (the vector path's tail, and the portable path).
static inline float weight_of(float logit, float maximum, float scale) {
    return llmk_ggml_expf(fmaxf((logit - maximum) * scale, LOWEST));
}

#ifdef LLMK_X86
#define LLMK_AVX2 __attribute__((target("avx2,fma")))

LLMK_AVX2 static int argmax_avx2(const float *values, int count) {
    __m256 best = _mm256_set1_ps(-INFINITY);
    __m256i where = _mm256_setzero_si256(), index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    int i = 0;
    for (; i + 8 <= count; i += 8) {
        const __m256 v = _mm256_loadu_ps(values + i);
        const __m256 larger = _mm256_cmp_ps(v, best, _CMP_GT_OQ);
        best = _mm256_blendv_ps(best, v, larger);
        where = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(where), _mm256_castsi256_ps(index), larger));
        index = _mm256_add_epi32(index, _mm256_set1_epi32(8));
    }
    float lanes[8];
    int32_t at[8];
    _mm256_storeu_ps(lanes, best);
    _mm256_storeu_si256((__m256i *)at, where);
    int answer = 0;
    float largest = -INFINITY;
    for (int k = 0; k < 8; k++) {
        if (lanes[k] > largest || (lanes[k] == largest && at[k] < answer)) {
            largest = lanes[k];
            answer = at[k];
        }
    }
    for (; i < count; i++) {
        if (values[i] > largest) {
            largest = values[i];
            answer = i;
        }
    }
    return answer;
}

// The weights and their sum, in the same pass.
LLMK_AVX2 static double weights_avx2(const float *logits, int count, float maximum, float scale, float *weights) {
    __m256 sum = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= count; i += 8) {
        const __m256 x = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(logits + i), _mm256_set1_ps(maximum)),
                                       _mm256_set1_ps(scale));
        _mm256_storeu_ps(weights + i, _mm256_max_ps(x, _mm256_set1_ps(LOWEST)));
        llmk_expf8(weights + i);
        sum = _mm256_add_ps(sum, _mm256_loadu_ps(weights + i));
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, sum);
    double total = 0;
    for (int k = 0; k < 8; k++) total += lanes[k];
    for (; i < count; i++) {
        weights[i] = weight_of(logits[i], maximum, scale);
        total += weights[i];
    }
    return total;
}

// Eight lanes of sums and counts of the weights at least `cut`.
LLMK_AVX2 static double at_least_avx2(const float *weights, int count, float cut, int *how_many) {
    __m256 sum = _mm256_setzero_ps();
    __m256i held = _mm256_setzero_si256();
    int i = 0;
    for (; i + 8 <= count; i += 8) {
        const __m256 w = _mm256_loadu_ps(weights + i);
        const __m256 in = _mm256_cmp_ps(w, _mm256_set1_ps(cut), _CMP_GE_OQ);
        sum = _mm256_add_ps(sum, _mm256_and_ps(w, in));
        held = _mm256_sub_epi32(held, _mm256_castps_si256(in));  // a lane in the set is −1
    }
    float lanes[8];
    int32_t counts[8];
    _mm256_storeu_ps(lanes, sum);
    _mm256_storeu_si256((__m256i *)counts, held);
    double total = 0;
    int found = 0;
    for (int k = 0; k < 8; k++) {
        total += lanes[k];
        found += counts[k];
    }
    for (; i < count; i++) {
        if (weights[i] >= cut) {
            total += weights[i];
            found += 1;
        }
    }
    *how_many = found;
    return total;
}
#endif

int llmk_argmax(const float *values, int count) {
#ifdef LLMK_X86
    if (llmk_best_level() > 0) return argmax_avx2(values, count);
#endif
    int answer = 0;
    for (int i = 1; i < count; i++) {
        if (values[i] > values[answer]) answer = i;
    }
    return answer;
}

double llmk_softmax_weights(const float *logits, int count, float maximum, float scale, float *weights) {
#ifdef LLMK_X86
    if (llmk_best_level() > 0) return weights_avx2(logits, count, maximum, scale, weights);
#endif
    double total = 0;
    for (int i = 0; i < count; i++) {
        weights[i] = weight_of(logits[i], maximum, scale);
        total += weights[i];
    }
    return total;
}

double llmk_weight_at_least(const float *weights, int count, float cut, int *how_many) {
#ifdef LLMK_X86
    if (llmk_best_level() > 0) return at_least_avx2(weights, count, cut, how_many);
#endif
    double total = 0;
    int found = 0;
    for (int i = 0; i < count; i++) {
        if (weights[i] >= cut) {
            total += weights[i];
            found += 1;
        }
    }
    *how_many = found;
    return total;
}

static inline int add_key(const float *weights, int i, uint64_t *keys, int found) {
    uint32_t bits;
    memcpy(&bits, &weights[i], sizeof bits);
    keys[found] = (uint64_t)bits << 32 | (uint32_t)(UINT32_MAX - (uint32_t)i);
    return found + 1;
}

#ifdef LLMK_X86
// Eight weights at a time skipped when none is at least `cut`, as most are.
LLMK_AVX2 static int keys_avx2(const float *weights, int count, float cut, uint64_t *keys) {
    int found = 0, i = 0;
    for (; i + 8 <= count; i += 8) {
        int mask = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(weights + i), _mm256_set1_ps(cut), _CMP_GE_OQ));
        while (mask) {
            found = add_key(weights, i + __builtin_ctz((unsigned)mask), keys, found);
            mask &= mask - 1;
        }
    }
    for (; i < count; i++) {
        if (weights[i] >= cut) found = add_key(weights, i, keys, found);
    }
    return found;
}
#endif

int llmk_keys_at_least(const float *weights, int count, float cut, uint64_t *keys) {
#ifdef LLMK_X86
    if (llmk_best_level() > 0) return keys_avx2(weights, count, cut, keys);
#endif
    int found = 0;
    for (int i = 0; i < count; i++) {
        if (weights[i] >= cut) found = add_key(weights, i, keys, found);
    }
    return found;
}

int llmk_draw(const float *weights, int count, double threshold) {
    // Whole chunks first (their sums in any order), then the one that reaches the threshold value
    // by value: the same token as a scan one by one, but for rounding.
    enum { chunk = 64 };
    double cumulative = 0;
    int start = 0;
    for (; start + chunk <= count; start += chunk) {
        float sum = 0;
        for (int i = start; i < start + chunk; i++) sum += weights[i];
        if (cumulative + sum >= threshold) break;
        cumulative += sum;
    }
    int last = -1;
    for (int i = start; i < count; i++) {
        if (weights[i] > 0) last = i;
        cumulative += weights[i];
        if (cumulative >= threshold) return i;
    }
    // Rounding left the threshold out of reach: the last token that has any weight.
    if (last >= 0) return last;
    for (int i = start - 1; i >= 0; i--) {
        if (weights[i] > 0) return i;
    }
    return 0;
}

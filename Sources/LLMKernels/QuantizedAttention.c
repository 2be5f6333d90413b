// Attention over an 8-bit KV cache, the blockwise order's attention. With many sequences
// attention reads its cache from memory, so its bytes are its time: each cached key and value is
// kept as 8-bit integers with a scale (keys per 32 values, as llama.cpp's 8-bit cache blocks;
// values per row), half the bytes of llama.cpp's half-precision cache. Both products are integer
// dot products, VNNI where there is one: Q·K with the query quantized as the keys are, and
// weights·V with each 32 positions' softmax weights as 16-bit integers (two byte products, high
// and low; 8-bit weights moved this model's logits twice as far from llama.cpp's). Values are
// stored four positions side by side, so four weight bytes against one register of values give
// eight columns' sums. The llama-cpp order keeps the half-precision cache and llama.cpp's own
// arithmetic (GGMLExact.c).

#include "LLMKernels.h"

#include <math.h>

#include "Common.h"
#include "Exp.h"

// How every copy adds eight lanes of a float sum.
static inline float tree8(const float e[8]) {
    return ((e[0] + e[4]) + (e[2] + e[6])) + ((e[1] + e[5]) + (e[3] + e[7]));
}

// A quantization scale from the largest magnitude and the largest integer, and its inverse.
static inline float scale_for(float largest, float top, float *inverse) {
    const float d = largest / top;
    *inverse = d != 0 ? 1.0f / d : 0.0f;
    return d;
}

/// Where byte d of position t's value row lies: positions in fours, each value's four side by side.
static inline size_t value_index(int t, int d, int length) {
    return (size_t)(t / 4) * 4 * (size_t)length + (size_t)d * 4 + (size_t)(t % 4);
}

// ---------------------------------------------------------------------------------------------
// The portable copy: the vector copies' arithmetic one value at a time (the integer sums are
// exact, so only the order of the float operations has to agree).

// x as integers of one scale (largest magnitude / 127), rounded to nearest even as the vector
// conversion rounds; their sum for the VNNI kernel's key offset. Keys and queries go per 32
// values, as llama.cpp's 8-bit blocks do; value rows whole (their scale goes into the weights).
static float quantize_row_portable(const float *x, int n, int8_t *q, int *sum) {
    float largest = 0;
    for (int i = 0; i < n; i++) largest = fmaxf(largest, fabsf(x[i]));
    float inverse;
    const float d = scale_for(largest, 127.0f, &inverse);
    int total = 0;
    for (int i = 0; i < n; i++) {
        q[i] = (int8_t)lrintf(x[i] * inverse);
        total += q[i];
    }
    if (sum) *sum = total;
    return d;
}

// Softmax in place: exp(x - max) by ggml's exp, summed in eight lanes (lane l takes positions l,
// l + 8, … in turn), scaled by the inverse of the sum, each weight times its value row's scale;
// then per 32 positions a scale (their largest weight / 65535) and the weights as 16-bit integers
// of it, kept as high and low bytes (`high` and `high` + `padded`) for the byte products.
static void weights_portable(float *w, const float *value_scales, int count, uint8_t *high, int padded, float *scales) {
    float maximum = -INFINITY;
    for (int t = 0; t < count; t++) maximum = fmaxf(maximum, w[t]);
    float lanes[8] = {0};
    for (int t = 0; t < count; t++) {
        w[t] = llmk_ggml_expf(w[t] - maximum);
        lanes[t % 8] += w[t];
    }
    const float inverse = 1.0f / tree8(lanes);
    for (int t = 0; t < count; t++) w[t] = w[t] * inverse * value_scales[t];
    for (int b = 0; 32 * b < count; b++) {
        const int n = count - 32 * b < 32 ? count - 32 * b : 32;
        float largest = 0;
        for (int i = 0; i < n; i++) largest = fmaxf(largest, w[32 * b + i]);
        float factor;
        scales[b] = scale_for(largest, 65535.0f, &factor);
        for (int i = 0; i < 32; i++) {
            const int q = i < n ? (int)lrintf(w[32 * b + i] * factor) : 0;
            high[32 * b + i] = (uint8_t)(q >> 8);
            high[padded + 32 * b + i] = (uint8_t)(q & 0xFF);
        }
    }
}

// The query of one head as the keys are kept: per 32 values a scale, and the integers' sums.
static void quantize_query_portable(const float *query, int length, int8_t *q, float *scales, int *sums) {
    for (int b = 0; 32 * b < length; b++) {
        const int n = length - 32 * b < 32 ? length - 32 * b : 32;
        scales[b] = quantize_row_portable(query + 32 * b, n, q + 32 * b, &sums[b]);
    }
}

static void attention_portable(int heads, const float *queries, llmk_kv8_view cache, int length, float scale,
                               float *scores, float *outputs) {
    const int blocks = (length + 31) / 32;
    int8_t q[length];
    float q_scales[blocks];
    int q_sums[blocks];
    const int count = cache.count, padded = (count + 31) / 32 * 32;
    uint8_t *bytes = (uint8_t *)(scores + count);
    float *block_scales = (float *)(bytes + 2 * padded);
    for (int h = 0; h < heads; h++) {
        quantize_query_portable(queries + h * length, length, q, q_scales, q_sums);
        for (int t = 0; t < count; t++) {
            const uint8_t *key = cache.keys + (size_t)t * length;
            float total = 0;
            for (int b = 0; b < blocks; b++) {
                int sum = 0;
                for (int d = 32 * b; d < length && d < 32 * (b + 1); d++) sum += ((int)key[d] - 128) * q[d];
                total = fmaf((float)sum * cache.key_scales[(size_t)b * cache.rows + t], q_scales[b], total);
            }
            scores[t] = total * scale;
        }
        weights_portable(scores, cache.value_scales, count, bytes, padded, block_scales);
        for (int d = 0; d < length; d++) {
            float total = 0;
            for (int b = 0; 32 * b < count; b++) {
                int sum = 0;
                for (int t = 32 * b; t < count && t < 32 * (b + 1); t++) {
                    sum += (bytes[t] * 256 + bytes[padded + t]) * cache.values[value_index(t, d, length)];
                }
                total = fmaf((float)sum, block_scales[b], total);
            }
            outputs[h * length + d] = total;
        }
    }
}

#ifdef LLMK_X86
#define LLMK_SUFFIX(name) name##_avx2
#define LLMK_TARGET __attribute__((target("avx2,fma,f16c")))
#define LLMK_GROUP_HEADS 1  // sixteen registers: one head's eight scores
#define LLMK_COLUMNS 32     // or 32 columns' sums
#include "QuantizedAttentionX86.inc"
#undef LLMK_SUFFIX
#undef LLMK_TARGET
#undef LLMK_GROUP_HEADS
#undef LLMK_COLUMNS

#define LLMK_SUFFIX(name) name##_vnni
#define LLMK_TARGET __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni")))
#define LLMK_VNNI 1
#define LLMK_GROUP_HEADS 3  // thirty-two registers: three heads' scores
#define LLMK_COLUMNS 64     // or 64 columns' sums
#include "QuantizedAttentionX86.inc"
#undef LLMK_SUFFIX
#undef LLMK_TARGET
#undef LLMK_VNNI
#undef LLMK_GROUP_HEADS
#undef LLMK_COLUMNS
#endif

void llmk_store_kv8(const float *key, const float *value, int length, int position, int rows, uint8_t *keys,
                    float *key_scales, int8_t *values, float *value_scales) {
    int8_t row[length];
    uint8_t *key_row = keys + (size_t)position * length;
#ifdef LLMK_X86
    const int vectors = length % 8 == 0 && llmk_best_level() > 0;
#else
    const int vectors = 0;
#endif
    for (int b = 0; 32 * b < length; b++) {
        const int n = length - 32 * b < 32 ? length - 32 * b : 32;
        float *scale = key_scales + (size_t)b * rows + position;
#ifdef LLMK_X86
        if (vectors) {
            *scale = quantize_row_avx2(key + 32 * b, n, (int8_t *)key_row + 32 * b, NULL);
            continue;
        }
#endif
        *scale = quantize_row_portable(key + 32 * b, n, (int8_t *)key_row + 32 * b, NULL);
    }
#ifdef LLMK_X86
    if (vectors) {
        value_scales[position] = quantize_row_avx2(value, length, row, NULL);
    } else
#endif
    {
        value_scales[position] = quantize_row_portable(value, length, row, NULL);
    }
    for (int d = 0; d < length; d++) key_row[d] ^= 0x80;  // stored + 128: unsigned for VNNI
    for (int d = 0; d < length; d++) values[value_index(position, d, length)] = row[d];
}

void llmk_attention_kv8(int heads, const float *queries, llmk_kv8_view cache, int length, float scale, float *scratch,
                        float *outputs, llmk_kv8_view upcoming) {
    llmk_attention_kv8_at_level(llmk_best_level(), heads, queries, cache, length, scale, scratch, outputs, upcoming);
}

void llmk_attention_kv8_at_level(int level, int heads, const float *queries, llmk_kv8_view cache, int length,
                                 float scale, float *scratch, float *outputs, llmk_kv8_view upcoming) {
#ifdef LLMK_X86
    if (length % 32 == 0) {
        switch (llmk_level(level)) {
        case 2: return attention_vnni(heads, queries, cache, length, scale, scratch, outputs, upcoming);
        case 1: return attention_avx2(heads, queries, cache, length, scale, scratch, outputs, upcoming);
        default: break;
        }
    }
#endif
    (void)upcoming;
    attention_portable(heads, queries, cache, length, scale, scratch, outputs);
}

// Attention over an 8-bit KV cache, the blockwise order's attention. With many sequences
// attention reads its cache from memory, so its bytes are its time: keys and values are kept as
// 8-bit integers in blocks of 32 with a scale each, quantized as activations are (llmk_quantize;
// llama.cpp's 8-bit cache type has the same blocks), half the bytes of llama.cpp's half-precision
// cache. Both products are integer dot products, VNNI where there is one: Q·K with the query
// quantized as the keys are, and weights·V with each 32 positions' softmax weights (times their
// value blocks' scales) as 16-bit integers (two byte products, high and low; 8-bit weights moved
// this model's logits twice as far from llama.cpp's). Keys are stored eight positions side by
// side, four bytes of each, so four query bytes against one register of keys give eight
// positions' sums with no sums across lanes; values four positions side by side, so four weight
// bytes against one register of values give eight columns' sums. The
// llama-cpp order keeps the half-precision cache and llama.cpp's own arithmetic (GGMLExact.c).

#include "LLMKernels.h"

#include <math.h>

#include "Common.h"
#include "Exp.h"
#include "Half.h"

// How every copy adds eight lanes of a float sum.
static inline float tree8(const float e[8]) {
    return ((e[0] + e[4]) + (e[2] + e[6])) + ((e[1] + e[5]) + (e[3] + e[7]));
}

/// Where byte d of position t's key lies: positions in eights, each four bytes of a key beside the
/// same four of the other seven, so one register holds four dimensions of eight positions.
static inline size_t key_index(int t, int d, int length) {
    return (size_t)(t / 8) * 8 * (size_t)length + (size_t)(d / 4) * 32 + (size_t)(t % 8) * 4 + (size_t)(d % 4);
}

/// Where byte d of position t's value lies: positions in fours, each value's four side by side.
static inline size_t value_index(int t, int d, int length) {
    return (size_t)(t / 4) * 4 * (size_t)length + (size_t)d * 4 + (size_t)(t % 4);
}

/// A row (a query, or a position's key or value) as the cache keeps it: bytes, and a scale and an
/// integer total per 32 values.
static void quantize_row(const float *row, int length, int8_t *values, float *scales, int32_t *totals) {
    float sums[(length + 31) / 32];
    llmk_quantize(row, length, values, scales, sums, totals);
}

// ---------------------------------------------------------------------------------------------
// The portable copy: the vector copies' arithmetic one value at a time (the integer sums are
// exact, so only the order of the float operations has to agree).

// Softmax in place: exp(x - max) by ggml's exp, summed in eight lanes (lane l takes positions l,
// l + 8, … in turn), scaled by the inverse of the sum.
static void softmax_portable(float *p, int count) {
    float maximum = -INFINITY;
    for (int t = 0; t < count; t++) maximum = fmaxf(maximum, p[t]);
    float lanes[8] = {0};
    for (int t = 0; t < count; t++) {
        p[t] = llmk_ggml_expf(p[t] - maximum);
        lanes[t % 8] += p[t];
    }
    const float inverse = 1.0f / tree8(lanes);
    for (int t = 0; t < count; t++) p[t] *= inverse;
}

// The weights of one block of value columns, p[t] times the position's scale for that block, per
// 32 positions as 16-bit integers of a scale (their largest / 65535), kept as high bytes at
// `high` and low bytes `padded` further on.
static void weight_bytes_portable(const float *p, const uint16_t *value_scales, int count, uint8_t *high, int padded,
                                  float *scales) {
    for (int b = 0; 32 * b < count; b++) {
        float w[32] = {0}, largest = 0;
        for (int i = 0; i < 32 && 32 * b + i < count; i++) {
            w[i] = p[32 * b + i] * llmk_half_to_float(value_scales[32 * b + i]);
            largest = fmaxf(largest, w[i]);
        }
        scales[b] = largest / 65535.0f;
        const float inverse = scales[b] != 0 ? 1.0f / scales[b] : 0.0f;
        for (int i = 0; i < 32; i++) {
            const int q = (int)lrintf(w[i] * inverse);
            high[32 * b + i] = (uint8_t)(q >> 8);
            high[padded + 32 * b + i] = (uint8_t)(q & 0xFF);
        }
    }
}

static void attention_portable(int heads, const float *queries, llmk_kv8_view cache, int length, float scale,
                               float *scores, float *outputs) {
    const int blocks = (length + 31) / 32, count = cache.count, padded = (count + 31) / 32 * 32;
    int8_t q[length];
    float q_scales[blocks];
    int32_t q_totals[blocks];
    uint8_t *high = (uint8_t *)(scores + count);
    float *weight_scales = (float *)(high + 2 * padded);
    for (int h = 0; h < heads; h++) {
        quantize_row(queries + h * length, length, q, q_scales, q_totals);
        for (int t = 0; t < count; t++) {
            float total = 0;
            for (int b = 0; b < blocks; b++) {
                int sum = 0;
                for (int d = 32 * b; d < length && d < 32 * (b + 1); d++) {
                    sum += ((int)cache.keys[key_index(t, d, length)] - 128) * q[d];
                }
                total = fmaf((float)sum * llmk_half_to_float(cache.key_scales[(size_t)b * cache.rows + t]), q_scales[b],
                             total);
            }
            scores[t] = total * scale;
        }
        softmax_portable(scores + cache.skip, count - cache.skip);
        for (int t = 0; t < cache.skip; t++) scores[t] = 0;
        for (int c = 0; c < blocks; c++) {
            weight_bytes_portable(scores, cache.value_scales + (size_t)c * cache.rows, count, high, padded, weight_scales);
            for (int d = 32 * c; d < length && d < 32 * (c + 1); d++) {
                float total = 0;
                for (int b = 0; 32 * b < count; b++) {
                    int sum = 0;
                    for (int t = 32 * b; t < count && t < 32 * (b + 1); t++) {
                        sum += (high[t] * 256 + high[padded + t]) * cache.values[value_index(t, d, length)];
                    }
                    total = fmaf((float)sum, weight_scales[b], total);
                }
                outputs[h * length + d] = total;
            }
        }
    }
}

#ifdef LLMK_X86
#define LLMK_SUFFIX(name) name##_avx2
#define LLMK_TARGET __attribute__((target("avx2,fma,f16c")))
#define LLMK_GROUP_HEADS 1   // sixteen registers: one head's eight scores,
#define LLMK_COLUMN_BLOCKS 1 // or one block of value columns' sums
#include "QuantizedAttentionX86.inc"
#undef LLMK_SUFFIX
#undef LLMK_TARGET
#undef LLMK_GROUP_HEADS
#undef LLMK_COLUMN_BLOCKS

#define LLMK_SUFFIX(name) name##_vnni
#define LLMK_TARGET __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni")))
#define LLMK_VNNI 1
#define LLMK_GROUP_HEADS 3   // thirty-two registers: three heads' scores,
#define LLMK_COLUMN_BLOCKS 2 // or two blocks of value columns' sums
#include "QuantizedAttentionX86.inc"
#undef LLMK_SUFFIX
#undef LLMK_TARGET
#undef LLMK_VNNI
#undef LLMK_GROUP_HEADS
#undef LLMK_COLUMN_BLOCKS
#endif

void llmk_store_kv8(const float *key, const float *value, int length, int position, int rows, uint8_t *keys,
                    uint16_t *key_scales, int8_t *values, uint16_t *value_scales) {
    const int blocks = (length + 31) / 32;
    int8_t row[length];
    float scales[blocks];
    int32_t totals[blocks];
    quantize_row(key, length, row, scales, totals);
    for (int d = 0; d < length; d++) keys[key_index(position, d, length)] = (uint8_t)(row[d] ^ 0x80);  // + 128: unsigned for VNNI
    for (int b = 0; b < blocks; b++) key_scales[(size_t)b * rows + position] = llmk_float_to_half(scales[b]);
    quantize_row(value, length, row, scales, totals);
    for (int d = 0; d < length; d++) values[value_index(position, d, length)] = row[d];
    for (int b = 0; b < blocks; b++) value_scales[(size_t)b * rows + position] = llmk_float_to_half(scales[b]);
}

void llmk_prefetch_kv8(llmk_kv8_view cache, int length) {
#ifdef LLMK_X86
    switch (llmk_best_level()) {
    case 2: return prefetch_cache_vnni(cache, length);
    case 1: return prefetch_cache_avx2(cache, length);
    default: break;
    }
#endif
    (void)cache;  // nothing to ask for without x86's prefetch
    (void)length;
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
    (void)level;  // without x86 there is only the portable path
    (void)upcoming;
    attention_portable(heads, queries, cache, length, scale, scratch, outputs);
}

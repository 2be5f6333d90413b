#include "LLMKernels.h"

#include <math.h>
#include <string.h>
#include <stdlib.h>

#include "Half.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define LLMK_X86 1
#endif

static inline float round_through_half(float f) { return llmk_half_to_float(llmk_float_to_half(f)); }

// Block layouts (ggml's): a half scale, for Q4_1 and Q5_1 a half minimum, for Q5 four bytes of
// fifth bits, then the packed values.
static inline int llmk_has_minimum(int type) { return type == LLMK_Q4_1 || type == LLMK_Q5_1; }

static inline int llmk_block_bytes(int type) {
    switch (type) {
    case LLMK_Q4_0:
    case LLMK_Q4_0_BLOCKWISE: return 18;
    case LLMK_Q4_1: return 20;
    case LLMK_Q5_0: return 22;
    case LLMK_Q5_1: return 24;
    default: return 34;
    }
}

// Weight j (0..31) of a Q4 or Q5 block as the integer its dot product multiplies: Q4_0 and Q5_0
// are offset to signed, Q4_1 and Q5_1 stay unsigned (their minimum is added separately).
static inline int llmk_small_weight(int type, const uint8_t *block, int j) {
    const uint8_t *packed = block + llmk_block_bytes(type) - 16;
    const int nibble = j < 16 ? (packed[j] & 0x0F) : (packed[j - 16] >> 4);
    switch (type) {
    case LLMK_Q4_1: return nibble;
    case LLMK_Q5_0:
    case LLMK_Q5_1: {
        uint32_t bits;
        memcpy(&bits, block + llmk_block_bytes(type) - 20, 4);
        const int value = nibble | (int)((bits >> j) & 1) << 4;
        return type == LLMK_Q5_0 ? value - 16 : value;
    }
    default: return nibble - 8;
    }
}

static void quantize_portable(const float *input, int count, int8_t *values, float *scales, float *sums) {
    for (int block = 0; block < count / 32; block++) {
        const float *x = input + block * 32;
        float maximum = 0;
        for (int j = 0; j < 32; j++) maximum = fmaxf(maximum, fabsf(x[j]));
        const float scale = maximum / 127;
        const float inverse = maximum != 0 ? 127 / maximum : 0;
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            const int q = (int)nearbyintf(x[j] * inverse);
            values[block * 32 + j] = (int8_t)q;
            sum += q;
        }
        scales[block] = round_through_half(scale);
        sums[block] = round_through_half(scale * (float)sum);
    }
}

// ---------------------------------------------------------------------------------------------
// Portable kernels. The sums run in the lane order of the AVX2 ones below (eight lanes of four
// products, fused multiply-adds across blocks, ggml's horizontal sum) so that every machine gets
// the same numbers.

static inline float horizontal_sum_8(const float lanes[8]) {
    const float r0 = lanes[4] + lanes[0], r1 = lanes[5] + lanes[1];
    const float r2 = lanes[6] + lanes[2], r3 = lanes[7] + lanes[3];
    return (r0 + r2) + (r1 + r3);
}

// Q4_0, Q4_1, Q5_0 and Q5_1: eight lanes of four products, the minimum terms summed apart.
static float dot_small_portable(int type, const uint8_t *row, int blocks, const int8_t *q, const float *d, const float *s) {
    const int size = llmk_block_bytes(type);
    float accumulator[8] = {0};
    float minimum_terms = 0;
    for (int block = 0; block < blocks; block++) {
        const uint8_t *pointer = row + block * size;
        uint16_t dw, mw;
        memcpy(&dw, pointer, 2);
        if (llmk_has_minimum(type)) {
            memcpy(&mw, pointer + 2, 2);
            minimum_terms = fmaf(llmk_half_to_float(mw), s[block], minimum_terms);
        }
        const int8_t *x = q + block * 32;
        const float scale = llmk_half_to_float(dw) * d[block];
        for (int lane = 0; lane < 8; lane++) {
            int sum = 0;
            for (int k = 0; k < 4; k++) sum += llmk_small_weight(type, pointer, lane * 4 + k) * x[lane * 4 + k];
            accumulator[lane] = fmaf(scale, (float)sum, accumulator[lane]);
        }
    }
    return horizontal_sum_8(accumulator) + minimum_terms;
}

// Q4_0 as llama.cpp sums its repacked matrices: the block's integer total, scaled and added.
static float dot_q4_0_blockwise_portable(const uint8_t *row, int blocks, const int8_t *q, const float *d) {
    float total = 0;
    for (int block = 0; block < blocks; block++) {
        const uint8_t *pointer = row + block * 18;
        uint16_t dw;
        memcpy(&dw, pointer, 2);
        const int8_t *x = q + block * 32;
        int sum = 0;
        for (int j = 0; j < 32; j++) sum += llmk_small_weight(LLMK_Q4_0, pointer, j) * x[j];
        total = fmaf((float)sum, llmk_half_to_float(dw) * d[block], total);
    }
    return total;
}

static float dot_q8_0_portable(const uint8_t *row, int blocks, const int8_t *q, const float *d) {
    float accumulator[8] = {0};
    for (int block = 0; block < blocks; block++) {
        const uint8_t *pointer = row + block * 34;
        uint16_t dw;
        memcpy(&dw, pointer, 2);
        const int8_t *w = (const int8_t *)(pointer + 2);
        const int8_t *x = q + block * 32;
        const float scale = llmk_half_to_float(dw) * d[block];
        for (int lane = 0; lane < 8; lane++) {
            int sum = 0;
            for (int k = 0; k < 4; k++) sum += w[lane * 4 + k] * x[lane * 4 + k];
            accumulator[lane] = fmaf(scale, (float)sum, accumulator[lane]);
        }
    }
    return horizontal_sum_8(accumulator);
}

// ---------------------------------------------------------------------------------------------
// x86 kernels, compiled for two instruction sets whatever the build's target and chosen at run
// time: AVX2, and AVX-512 VNNI on 256-bit vectors (one instruction for the byte products). Both
// produce exactly the portable kernels' numbers: the integer sums are exact either way.

// CALL(T) with T the weight type as a constant, for the types with an integer path (Q4_0 summed
// per block has its own loop).
#define LLMK_FOR_TYPE(CALL)                                                                                     \
    switch (type) {                                                                                             \
    case LLMK_Q4_1: CALL(LLMK_Q4_1); break;                                                                     \
    case LLMK_Q4_0: CALL(LLMK_Q4_0); break;                                                                     \
    case LLMK_Q5_1: CALL(LLMK_Q5_1); break;                                                                     \
    case LLMK_Q5_0: CALL(LLMK_Q5_0); break;                                                                     \
    default: CALL(LLMK_Q8_0); break;                                                                            \
    }

// CALL(T, n) with n the tile's vector count as a constant, for count in 1...8.
#define LLMK_FOR_COUNT(CALL, T)                                                                                 \
    switch (count) {                                                                                            \
    case 1: CALL(T, 1); break;                                                                                  \
    case 2: CALL(T, 2); break;                                                                                  \
    case 3: CALL(T, 3); break;                                                                                  \
    case 4: CALL(T, 4); break;                                                                                  \
    case 5: CALL(T, 5); break;                                                                                  \
    case 6: CALL(T, 6); break;                                                                                  \
    case 7: CALL(T, 7); break;                                                                                  \
    default: CALL(T, 8); break;                                                                                 \
    }

#ifdef LLMK_X86
#define LLMK_SUFFIX(name) name##_avx2
#define LLMK_TARGET __attribute__((target("avx2,fma,f16c")))
#include "QuantizedDotX86.inc"
#undef LLMK_SUFFIX
#undef LLMK_TARGET

#define LLMK_SUFFIX(name) name##_vnni
#define LLMK_TARGET __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni")))
#define LLMK_VNNI 1
#include "QuantizedDotX86.inc"
#undef LLMK_SUFFIX
#undef LLMK_TARGET
#undef LLMK_VNNI

// 0: portable, 1: AVX2, 2: AVX-512 VNNI.
static int x86_level(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        const int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
        const int vnni = avx2 && __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl") &&
                         __builtin_cpu_supports("avx512bw");
        const char *forced = getenv("LLMK_ISA");  // for benchmarks and tests of the other paths
        cached = vnni ? 2 : avx2 ? 1 : 0;
        if (forced && forced[0] >= '0' && forced[0] < '0' + cached) cached = forced[0] - '0';
    }
    return cached;
}
#endif

void llmk_quantize(const float *input, int count, int8_t *values, float *scales, float *sums) {
    llmk_quantize_at_level(llmk_best_level(), input, count, values, scales, sums);
}

void llmk_quantize_at_level(int level, const float *input, int count, int8_t *values, float *scales, float *sums) {
#ifdef LLMK_X86
    switch (level < x86_level() ? level : x86_level()) {
    case 2: return quantize_vnni(input, count, values, scales, sums);
    case 1: return quantize_avx2(input, count, values, scales, sums);
    default: break;
    }
#endif
    quantize_portable(input, count, values, scales, sums);
}

int llmk_matmul(int type, const void *weights, size_t row_bytes, int blocks, llmk_activations a, int batch,
                float *output, int stride, int begin, int end) {
    return llmk_matmul_at_level(llmk_best_level(), type, weights, row_bytes, blocks, a, batch, output, stride, begin, end);
}

int llmk_best_level(void) {
#ifdef LLMK_X86
    return x86_level();
#else
    return 0;
#endif
}

int llmk_matmul_at_level(int level, int type, const void *weights, size_t row_bytes, int blocks, llmk_activations a,
                         int batch, float *output, int stride, int begin, int end) {
    switch (type) {
    case LLMK_Q4_0: case LLMK_Q4_1: case LLMK_Q5_0: case LLMK_Q5_1: case LLMK_Q8_0: case LLMK_Q4_0_BLOCKWISE: break;
    default: return 0;  // no integer path: the caller goes through floats
    }
#ifdef LLMK_X86
    switch (level < x86_level() ? level : x86_level()) {
    case 2: return matmul_vnni(type, weights, row_bytes, blocks, a, batch, output, stride, begin, end);
    case 1: return matmul_avx2(type, weights, row_bytes, blocks, a, batch, output, stride, begin, end);
    default: break;
    }
#endif
    for (int r = begin; r < end; r++) {
        const uint8_t *row = (const uint8_t *)weights + (size_t)r * row_bytes;
        for (int b = 0; b < batch; b++) {
            const int8_t *q = a.values + (size_t)b * blocks * 32;
            const float *d = a.scales + (size_t)b * blocks;
            float value;
            switch (type) {
            case LLMK_Q4_1:
            case LLMK_Q4_0:
            case LLMK_Q5_1:
            case LLMK_Q5_0: value = dot_small_portable(type, row, blocks, q, d, a.sums + (size_t)b * blocks); break;
            case LLMK_Q4_0_BLOCKWISE: value = dot_q4_0_blockwise_portable(row, blocks, q, d); break;
            default: value = dot_q8_0_portable(row, blocks, q, d); break;
            }
            output[(size_t)b * stride + r] = value;
        }
    }
    return 1;
}

void llmk_cpu_relax(void) {
#ifdef LLMK_X86
    _mm_pause();
#endif
}

// K-quant weights multiplied as llama.cpp multiplies them: with activations quantized in 256-value
// blocks (ggml's Q8_K: one float scale, 256 signed bytes, and the sum of each 16 bytes), exact
// integer dot products per block, and the floats added in ggml's order — so that in the llama-cpp
// product order a K-quant model's logits are llama.cpp's to the bit.
//
// Two summation orders, the ones llama.cpp takes on x86 (ggml-cpu's quants.c and repack.cpp):
// - Q4_K matrices with a multiple of 8 rows (and Q2_K ones, on AVX-512 machines) are repacked by
//   llama.cpp and summed per row: each 256-value block's integer total Σ_j sc_j·(q·x)_j scaled by
//   d·d_x and fused into one running sum, the minimum terms Σ_j m_j·Σx_j by dmin·d_x into another,
//   the second subtracted at the end (LLMK_Q4_K_REPACKED, LLMK_Q2_K_REPACKED). Its four-vector
//   kernel for prompts fuses every 64 values instead; ours keeps the one-vector sums for every
//   vector, so a prompt's logits do not depend on how it is batched and equal llama.cpp's token
//   by token.
// - Q2_K and Q4_K matrices of other heights, and Q3_K, Q5_K, Q6_K, IQ4_XS (ggml_vec_dot_*_q8_K):
//   eight int32 lanes, lane m holding the products of bytes 4m..4m+3 of every 32 values, each
//   times its 16 or 32 values' scale (Q6_K's weights unsigned 0..63, less 32·(sc·Σx) of 16-value
//   groups 2m and 2m+1 per lane); each block's lanes scaled by d·d_x and fused into eight running
//   sums, added at the end as ggml's hsum_float_8 adds them. Minimum terms, -dmin·d_x·Σ_j m_j·Σx_j:
//   Q5_K's fused block by block into one more sum, added last; Q4_K's into four lanes (lane k
//   taking 32-value groups 2k and 2k + 1), added as (l0 + l2) + (l1 + l3), then last; Q2_K's into
//   lane m (16-value groups 2m, 2m + 1) before each block's products.
#include "LLMKernels.h"

#include <math.h>
#include <string.h>

#include "Common.h"
#include "Half.h"
#include "KQuantBlocks.h"

enum { Q2_K_BYTES = 84, Q3_K_BYTES = 110, Q4_K_BYTES = 144, Q5_K_BYTES = 176, Q6_K_BYTES = 210, IQ4_XS_BYTES = 136 };

static inline int block_bytes(int type) {
    switch (type) {
    case LLMK_Q3_K: return Q3_K_BYTES;
    case LLMK_Q5_K: return Q5_K_BYTES;
    case LLMK_Q6_K: return Q6_K_BYTES;
    case LLMK_IQ4_XS: return IQ4_XS_BYTES;
    case LLMK_Q2_K:
    case LLMK_Q2_K_REPACKED: return Q2_K_BYTES;
    default: return Q4_K_BYTES;
    }
}

// A block's scale d (half precision, where each type keeps it) times the activations' d_x.
static inline float block_scale(int type, const uint8_t *block, float dx) {
    switch (type) {
    case LLMK_Q2_K: return dx * llmk_half_at(block + 80);
    case LLMK_Q3_K: return dx * llmk_half_at(block + 108);
    case LLMK_Q6_K: return dx * llmk_half_at(block + 208);
    default: return dx * llmk_half_at(block);
    }
}

// Q2_K's minimum terms of a block: Σ_j m_j·Σx_j over its sixteen 16-value groups.
static inline int q2_K_minimums(const uint8_t *block, const int16_t *sums) {
    int total = 0;
    for (int group = 0; group < 16; group++) total += (block[group] >> 4) * sums[group];
    return total;
}

// A Q4_K or Q5_K block's eight 6-bit scales and minimums, one per 32 values.
static inline void k4_scales(const uint8_t *block, int scales[8], int minimums[8]) {
    for (int group = 0; group < 8; group++) llmk_scale_min_k4(group, block + 4, &scales[group], &minimums[group]);
}

// Q4_K's or Q5_K's minimum terms of a block: Σ_j m_j·Σx_j over its eight 32-value groups.
static inline int k4_minimums(const int minimums[8], const int16_t *sums) {
    int total = 0;
    for (int group = 0; group < 8; group++) total += minimums[group] * (sums[2 * group] + sums[2 * group + 1]);
    return total;
}

// The scale of each 16 values of a lane-kernel block (and Q4_K's and Q5_K's eight minimums).
static inline void lane_scales(int type, const uint8_t *block, int scales[16], int minimums[8]) {
    int8_t packed[16];
    int eight[8];
    switch (type) {
    case LLMK_Q2_K:
        for (int j = 0; j < 16; j++) scales[j] = block[j] & 0x0F;
        return;
    case LLMK_Q3_K:
        llmk_q3_K_scales(block + 96, packed);
        for (int j = 0; j < 16; j++) scales[j] = packed[j];
        return;
    case LLMK_Q6_K:
        for (int j = 0; j < 16; j++) scales[j] = ((const int8_t *)(block + 192))[j];
        return;
    case LLMK_Q4_K:
    case LLMK_Q5_K: k4_scales(block, eight, minimums); break;
    default:
        for (int g = 0; g < 8; g++) eight[g] = llmk_iq4_xs_scale(block, g);
        break;
    }
    for (int g = 0; g < 8; g++) scales[2 * g] = scales[2 * g + 1] = eight[g];
}

int llmk_has_superblock_path(int type) {
    switch (type) {
    case LLMK_Q2_K: case LLMK_Q2_K_REPACKED: case LLMK_Q3_K: case LLMK_Q4_K: case LLMK_Q4_K_REPACKED: case LLMK_Q5_K:
    case LLMK_Q6_K: case LLMK_IQ4_XS: return 1;
    default: return 0;
    }
}

// The first value of largest magnitude in a block (0 if all are 0): ggml's quantizer keeps its
// sign, so that value becomes -127.
static inline float largest_value(const float *x, float magnitude) {
    for (int j = 0; j < 256; j++) {
        if (fabsf(x[j]) == magnitude) return x[j];
    }
    return 0;
}

// ggml's quantize_row_q8_K_ref: the scale from the value of largest magnitude, every value to
// nearest with ties to even, capped at 127.
static void quantize_q8_K_block_portable(const float *x, int8_t *q, float *scale, int16_t *sums) {
    float magnitude = 0;
    for (int j = 0; j < 256; j++) magnitude = fabsf(x[j]) > magnitude ? fabsf(x[j]) : magnitude;
    if (magnitude == 0) {
        *scale = 0;
        memset(q, 0, 256);
        memset(sums, 0, 16 * sizeof(int16_t));
        return;
    }
    const float inverse = -127.f / largest_value(x, magnitude);
    for (int j = 0; j < 256; j++) {
        const int rounded = (int)nearbyintf(inverse * x[j]);
        q[j] = (int8_t)(rounded < 127 ? rounded : 127);
    }
    for (int group = 0; group < 16; group++) {
        int sum = 0;
        for (int j = 0; j < 16; j++) sum += q[group * 16 + j];
        sums[group] = (int16_t)sum;
    }
    *scale = 1 / inverse;
}

// ---------------------------------------------------------------------------------------------
// Portable kernels: the definitions the vector ones below reproduce.

// Q4_K weight j (0..255) of a block, 0..15: each 64 values are 32 bytes, low nibbles first.
static inline int q4_K_weight(const uint8_t *block, int j) {
    const uint8_t byte = block[16 + (j / 64) * 32 + j % 32];
    return (j % 64) < 32 ? byte & 0x0F : byte >> 4;
}

// Q2_K weight j (0..255) of a block, 0..3.
static inline int q2_K_weight(const uint8_t *block, int j) {
    return (block[16 + (j / 128) * 32 + j % 32] >> (2 * ((j % 128) / 32))) & 3;
}

// Weight j (0..255) of a lane-kernel block as its product takes it: Q2_K, Q4_K, Q5_K and Q6_K
// unsigned (0..3, 0..15, 0..31, 0..63), Q3_K and IQ4_XS signed.
static inline int lane_weight(int type, const uint8_t *block, int j) {
    switch (type) {
    case LLMK_Q2_K: return q2_K_weight(block, j);
    case LLMK_Q4_K: return q4_K_weight(block, j);
    case LLMK_Q3_K: {
        const int half = j / 128, quarter = (j % 128) / 32, p = j % 32;
        const int low = (block[32 + half * 32 + p] >> (2 * quarter)) & 3;
        return (block[p] >> (4 * half + quarter)) & 1 ? low : low - 4;
    }
    case LLMK_Q5_K: {
        const int pair = j / 64, second = (j % 64) / 32, p = j % 32;
        const uint8_t byte = block[48 + pair * 32 + p];
        return (second ? byte >> 4 : byte & 0x0F) | ((block[16 + p] >> (2 * pair + second)) & 1) << 4;
    }
    case LLMK_Q6_K: {
        const int half = j / 128, quarter = (j % 128) / 32, p = j % 32;
        const uint8_t low = block[half * 64 + (quarter & 1) * 32 + p];
        const uint8_t high = block[128 + half * 32 + p];
        return ((quarter < 2 ? low & 0x0F : low >> 4) | ((high >> (2 * quarter)) & 3) << 4);
    }
    default: {
        const uint8_t byte = block[8 + (j / 32) * 16 + j % 16];
        return llmk_iq4_values[(j % 32) < 16 ? byte & 0x0F : byte >> 4];
    }
    }
}

static float dot_repacked_portable(int type, const uint8_t *row, int blocks, const int8_t *x, const float *d,
                                   const int16_t *sums) {
    // Where each type keeps d and dmin.
    const int scale_at = type == LLMK_Q2_K_REPACKED ? 80 : 0;
    float total = 0, minimum = 0;
    for (int i = 0; i < blocks; i++) {
        const uint8_t *block = row + (size_t)i * block_bytes(type);
        const int8_t *q = x + (size_t)i * 256;
        int products = 0, minimums;
        if (type == LLMK_Q2_K_REPACKED) {
            for (int j = 0; j < 256; j++) products += (block[j / 16] & 0x0F) * q2_K_weight(block, j) * q[j];
            minimums = q2_K_minimums(block, sums + (size_t)i * 16);
        } else {
            int scale[8], least[8];
            k4_scales(block, scale, least);
            for (int group = 0; group < 8; group++) {
                int sum = 0;
                for (int j = group * 32; j < group * 32 + 32; j++) sum += q4_K_weight(block, j) * q[j];
                products += scale[group] * sum;
            }
            minimums = k4_minimums(least, sums + (size_t)i * 16);
        }
        total = fmaf((float)products, llmk_half_at(block + scale_at) * d[i], total);
        minimum = fmaf((float)minimums, llmk_half_at(block + scale_at + 2) * d[i], minimum);
    }
    return total - minimum;
}

static inline float horizontal_sum_8(const float lanes[8]) {
    const float r0 = lanes[4] + lanes[0], r1 = lanes[5] + lanes[1];
    const float r2 = lanes[6] + lanes[2], r3 = lanes[7] + lanes[3];
    return (r0 + r2) + (r1 + r3);
}

static float dot_lanes_portable(int type, const uint8_t *row, int blocks, const int8_t *x, const float *d,
                                const int16_t *sums) {
    float accumulator[8] = {0}, minimum = 0, minimums[4] = {0};
    for (int i = 0; i < blocks; i++) {
        const uint8_t *block = row + (size_t)i * block_bytes(type);
        const int8_t *q = x + (size_t)i * 256;
        const int16_t *sum = sums + (size_t)i * 16;
        int scales[16], least[8], lanes[8] = {0};
        lane_scales(type, block, scales, least);
        for (int j = 0; j < 256; j++) lanes[(j % 32) / 4] += scales[j / 16] * lane_weight(type, block, j) * q[j];
        if (type == LLMK_Q6_K) {
            for (int m = 0; m < 8; m++) lanes[m] -= 32 * (sum[2 * m] * scales[2 * m] + sum[2 * m + 1] * scales[2 * m + 1]);
        }
        if (type == LLMK_Q2_K) {
            // The minimum terms first, into the same lanes: lane m takes 16-value groups 2m, 2m + 1.
            const float dmin = -d[i] * llmk_half_at(block + 82);
            for (int m = 0; m < 8; m++) {
                const int terms = (block[2 * m] >> 4) * sum[2 * m] + (block[2 * m + 1] >> 4) * sum[2 * m + 1];
                accumulator[m] = fmaf(dmin, (float)terms, accumulator[m]);
            }
        }
        if (type == LLMK_Q4_K) {
            // Four lanes of minimum terms: lane k takes 32-value groups 2k and 2k + 1.
            const float dmin = -d[i] * llmk_half_at(block + 2);
            for (int k = 0; k < 4; k++) {
                const int terms = least[2 * k] * (sum[4 * k] + sum[4 * k + 1])
                    + least[2 * k + 1] * (sum[4 * k + 2] + sum[4 * k + 3]);
                minimums[k] = fmaf(dmin, (float)terms, minimums[k]);
            }
        }
        if (type == LLMK_Q5_K) {
            // fused, as GCC compiles llama.cpp's `summs += dmin * …`
            minimum = fmaf(-d[i] * llmk_half_at(block + 2), (float)k4_minimums(least, sum), minimum);
        }
        const float scale = block_scale(type, block, d[i]);
        for (int m = 0; m < 8; m++) accumulator[m] = fmaf(scale, (float)lanes[m], accumulator[m]);
    }
    switch (type) {
    case LLMK_Q4_K: return horizontal_sum_8(accumulator) + ((minimums[0] + minimums[2]) + (minimums[1] + minimums[3]));
    case LLMK_Q5_K: return horizontal_sum_8(accumulator) + minimum;
    default: return horizontal_sum_8(accumulator);
    }
}

// ---------------------------------------------------------------------------------------------
// x86: the same sums with AVX2's byte multiply-adds (compiled again for the AVX-512 level, whose
// result must be, and is, the same).

#ifdef LLMK_X86
#define LLMK_SUFFIX(name) name##_avx2
#define LLMK_TARGET __attribute__((target("avx2,fma,f16c")))
#include "SuperBlockDotX86.inc"
#undef LLMK_SUFFIX
#undef LLMK_TARGET

#define LLMK_SUFFIX(name) name##_vnni
#define LLMK_TARGET __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni")))
#define LLMK_VNNI_COPY 1
#include "SuperBlockDotX86.inc"
#undef LLMK_SUFFIX
#undef LLMK_TARGET
#undef LLMK_VNNI_COPY
#endif

void llmk_quantize_q8_K_at_level(int level, const float *input, int rows, int length, int8_t *values, float *scales,
                                 int16_t *sums) {
    const int blocks = rows * (length / 256);
#ifdef LLMK_X86
    if (llmk_level(level) >= 1) {
        for (int b = 0; b < blocks; b++) {
            quantize_q8_K_block_avx2(input + (size_t)b * 256, values + (size_t)b * 256, scales + b, sums + (size_t)b * 16);
        }
        return;
    }
#endif
    for (int b = 0; b < blocks; b++) {
        quantize_q8_K_block_portable(input + (size_t)b * 256, values + (size_t)b * 256, scales + b, sums + (size_t)b * 16);
    }
}

void llmk_quantize_q8_K(const float *input, int rows, int length, int8_t *values, float *scales, int16_t *sums) {
    llmk_quantize_q8_K_at_level(llmk_best_level(), input, rows, length, values, scales, sums);
}

int llmk_matmul_superblocks_at_level(int level, int type, const void *weights, size_t row_bytes, int blocks,
                                     llmk_superblock_activations a, int batch, float *output, int stride, int begin,
                                     int end) {
    if (!llmk_has_superblock_path(type)) return 0;
#ifdef LLMK_X86
    switch (llmk_level(level)) {
    case 2: return superblocks_vnni(type, weights, row_bytes, blocks, a, batch, output, stride, begin, end);
    case 1: return superblocks_avx2(type, weights, row_bytes, blocks, a, batch, output, stride, begin, end);
    default: break;
    }
#endif
    for (int r = begin; r < end; r++) {
        const uint8_t *row = (const uint8_t *)weights + (size_t)r * row_bytes;
        for (int b = 0; b < batch; b++) {
            const int8_t *x = a.values + (size_t)b * blocks * 256;
            const float *d = a.scales + (size_t)b * blocks;
            const int16_t *sums = a.sums + (size_t)b * blocks * 16;
            output[(size_t)b * stride + r] = type == LLMK_Q4_K_REPACKED || type == LLMK_Q2_K_REPACKED
                ? dot_repacked_portable(type, row, blocks, x, d, sums)
                : dot_lanes_portable(type, row, blocks, x, d, sums);
        }
    }
    return 1;
}

int llmk_matmul_superblocks(int type, const void *weights, size_t row_bytes, int blocks, llmk_superblock_activations a,
                            int batch, float *output, int stride, int begin, int end) {
    return llmk_matmul_superblocks_at_level(llmk_best_level(), type, weights, row_bytes, blocks, a, batch, output,
                                            stride, begin, end);
}

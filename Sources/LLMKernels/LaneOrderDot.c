// Products with weights in GGML's own layout, summed in llama.cpp's order: eight lanes of four
// byte products per block, each lane scaled and fused into its own running sum, the lanes added
// at the end as ggml adds them — so the results are llama.cpp's to the bit.
#include "LLMKernels.h"

#include <math.h>
#include <string.h>
#include <stdlib.h>

#include "Common.h"
#include "Half.h"

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
        if (llmk_has_minimum(type)) minimum_terms = fmaf(llmk_half_at(pointer + 2), s[block], minimum_terms);
        const int8_t *x = q + block * 32;
        const float scale = llmk_half_at(pointer) * d[block];
        for (int lane = 0; lane < 8; lane++) {
            int sum = 0;
            for (int k = 0; k < 4; k++) sum += llmk_small_weight(type, pointer, lane * 4 + k) * x[lane * 4 + k];
            accumulator[lane] = fmaf(scale, (float)sum, accumulator[lane]);
        }
    }
    return horizontal_sum_8(accumulator) + minimum_terms;
}

// Q4_0 and IQ4_NL as llama.cpp sums its repacked matrices: the block's integer total, scaled and added.
static float dot_blockwise_portable(int type, const uint8_t *row, int blocks, const int8_t *q, const float *d) {
    float total = 0;
    for (int block = 0; block < blocks; block++) {
        const uint8_t *pointer = row + block * 18;
        const int8_t *x = q + block * 32;
        int sum = 0;
        for (int j = 0; j < 32; j++) sum += llmk_small_weight(type, pointer, j) * x[j];
        total = fmaf((float)sum, llmk_half_at(pointer) * d[block], total);
    }
    return total;
}

// IQ4_NL in ggml_vec_dot_iq4_nl_q8_0's order: blocks in pairs, the first of each pair into one set
// of eight lanes and the second into another, the sets added lane by lane and then across; an odd
// last block's whole integer total fused in after that.
static float dot_iq4_nl_portable(const uint8_t *row, int blocks, const int8_t *q, const float *d) {
    float first[8] = {0}, second[8] = {0};
    int block = 0;
    for (; block + 1 < blocks; block += 2) {
        for (int k = 0; k < 2; k++) {
            const uint8_t *pointer = row + (block + k) * 18;
            const int8_t *x = q + (block + k) * 32;
            const float scale = d[block + k] * llmk_half_at(pointer);
            float *lanes = k == 0 ? first : second;
            for (int lane = 0; lane < 8; lane++) {
                int sum = 0;
                for (int j = 0; j < 4; j++) sum += llmk_small_weight(LLMK_IQ4_NL_BLOCKWISE, pointer, lane * 4 + j) * x[lane * 4 + j];
                lanes[lane] = fmaf(scale, (float)sum, lanes[lane]);
            }
        }
    }
    float added[8];
    for (int lane = 0; lane < 8; lane++) added[lane] = first[lane] + second[lane];
    float total = horizontal_sum_8(added);
    for (; block < blocks; block++) {
        const uint8_t *pointer = row + block * 18;
        int sum = 0;
        for (int j = 0; j < 32; j++) sum += llmk_small_weight(LLMK_IQ4_NL_BLOCKWISE, pointer, j) * q[block * 32 + j];
        total = fmaf(d[block] * llmk_half_at(pointer), (float)sum, total);  // fused, as GCC compiles `sumf += d * …`
    }
    return total;
}

static float dot_q8_0_portable(const uint8_t *row, int blocks, const int8_t *q, const float *d) {
    float accumulator[8] = {0};
    for (int block = 0; block < blocks; block++) {
        const uint8_t *pointer = row + block * 34;
        const int8_t *w = (const int8_t *)(pointer + 2);
        const int8_t *x = q + block * 32;
        const float scale = llmk_half_at(pointer) * d[block];
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

// ---------------------------------------------------------------------------------------------
// x86 kernels, compiled for two instruction sets whatever the build's target and chosen at run
// time: AVX2, and AVX-512 VNNI on 256-bit vectors (one instruction for the byte products). Both
// produce exactly the portable kernels' numbers: the integer sums are exact either way.

#ifdef LLMK_X86
#define LLMK_SUFFIX(name) name##_avx2
#define LLMK_TARGET __attribute__((target("avx2,fma,f16c")))
#include "LaneOrderDotX86.inc"
#undef LLMK_SUFFIX
#undef LLMK_TARGET

#define LLMK_SUFFIX(name) name##_vnni
#define LLMK_TARGET __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni")))
#define LLMK_VNNI 1
#include "LaneOrderDotX86.inc"
#undef LLMK_SUFFIX
#undef LLMK_TARGET
#undef LLMK_VNNI
#endif

int llmk_matmul_lanes_at_level(int level, int type, const void *weights, size_t row_bytes, int blocks, llmk_activations a,
                         int batch, float *output, int stride, int begin, int end) {
    if (!llmk_has_integer_path(type) && !llmk_is_blockwise(type) && type != LLMK_IQ4_NL) return 0;  // through floats
#ifdef LLMK_X86
    switch (llmk_level(level)) {
    case 2: return matmul_lanes_vnni(type, weights, row_bytes, blocks, a, batch, output, stride, begin, end);
    case 1: return matmul_lanes_avx2(type, weights, row_bytes, blocks, a, batch, output, stride, begin, end);
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
            case LLMK_Q4_0_BLOCKWISE:
            case LLMK_IQ4_NL_BLOCKWISE: value = dot_blockwise_portable(type, row, blocks, q, d); break;
            case LLMK_IQ4_NL: value = dot_iq4_nl_portable(row, blocks, q, d); break;
            default: value = dot_q8_0_portable(row, blocks, q, d); break;
            }
            output[(size_t)b * stride + r] = value;
        }
    }
    return 1;
}

int llmk_matmul_lanes(int type, const void *weights, size_t row_bytes, int blocks, llmk_activations a, int batch,
                      float *output, int stride, int begin, int end) {
    return llmk_matmul_lanes_at_level(llmk_best_level(), type, weights, row_bytes, blocks, a, batch, output, stride, begin,
                                      end);
}

// Products with weights in the interleaved layout (Interleaved.h), summed block by block: each
// block's exact integer dot product scaled once per (row, vector). Not llama.cpp's summation
// order (LaneOrderDot.c is), but the same inputs, and a third of the work per product.
#include "LLMKernels.h"

#include <math.h>
#include <string.h>

#include "Common.h"
#include "Half.h"
#include "Interleaved.h"

// ---------------------------------------------------------------------------------------------
// The portable kernel: the vector ones' arithmetic, one row and one vector at a time.

// Value k (0..31) of row r in a group block, as the weight it stands for.
static inline int interleaved_weight(int type, const uint8_t *values, int r, int k) {
    if (llmk_is_nibbles(type)) {
        const uint8_t byte = values[32 * (k % 16 / 4) + 4 * r + k % 4];
        return (k < 16 ? byte & 0x0F : byte >> 4) - llmk_value_offset(type);
    }
    const uint8_t byte = values[32 * (k / 4) + 4 * r + k % 4];
    return type == LLMK_Q8_0 ? (int8_t)byte : byte - llmk_value_offset(type);
}

static void matmul_portable(int type, const uint8_t *weights, int blocks, llmk_activations a, int batch, float *output,
                            int stride, int begin, int end) {
    const int group_block = llmk_group_block_bytes(type);
    for (int row = begin; row < end; row++) {
        const int r = row % 8;
        const uint8_t *group = weights + (size_t)(row / 8) * blocks * group_block;
        for (int b = 0; b < batch; b++) {
            float accumulator = 0;
            for (int block = 0; block < blocks; block++) {
                const uint8_t *pointer = group + (size_t)block * group_block;
                const size_t vector = (size_t)b * blocks + block;
                const int8_t *x = a.values + vector * 32;
                int total = 0;
                for (int k = 0; k < 32; k++) total += interleaved_weight(type, pointer + llmk_header_bytes(type), r, k) * x[k];
                accumulator = fmaf(llmk_half_at(pointer + 2 * r) * a.scales[vector], (float)total, accumulator);
                if (llmk_has_minimum(type)) accumulator = fmaf(llmk_half_at(pointer + 16 + 2 * r), a.sums[vector], accumulator);
            }
            output[(size_t)b * stride + row] = accumulator;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// x86 kernels, compiled for two instruction sets whatever the build's target and chosen at run
// time: AVX2, and AVX-512 VNNI on 256-bit vectors (one instruction for the byte products). Both
// produce exactly the portable kernel's numbers: the integer sums are exact either way.

#ifdef LLMK_X86
#define LLMK_SUFFIX(name) name##_avx2
#define LLMK_TARGET __attribute__((target("avx2,fma,f16c")))
#define LLMK_TILE 4  // sixteen vector registers: four accumulators and four sums beside the weights
#include "BlockwiseDotX86.inc"
#undef LLMK_SUFFIX
#undef LLMK_TARGET
#undef LLMK_TILE

#define LLMK_SUFFIX(name) name##_vnni
#define LLMK_TARGET __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni")))
#define LLMK_VNNI 1
#define LLMK_TILE 8  // thirty-two vector registers
#include "BlockwiseDotX86.inc"
#undef LLMK_SUFFIX
#undef LLMK_TARGET
#undef LLMK_VNNI
#undef LLMK_TILE

#endif

int llmk_matmul(int type, const void *weights, int blocks, llmk_activations a, int batch, float *output, int stride,
                int begin, int end) {
    return llmk_matmul_at_level(llmk_best_level(), type, weights, blocks, a, batch, output, stride, begin, end);
}

int llmk_matmul_at_level(int level, int type, const void *weights, int blocks, llmk_activations a, int batch,
                         float *output, int stride, int begin, int end) {
    if (!llmk_has_integer_path(type)) return 0;  // the caller goes through floats
#ifdef LLMK_X86
    switch (llmk_level(level)) {
    case 2: return matmul_vnni(type, (const uint8_t *)weights, blocks, a, batch, output, stride, begin, end);
    case 1: return matmul_avx2(type, (const uint8_t *)weights, blocks, a, batch, output, stride, begin, end);
    default: break;
    }
#endif
    matmul_portable(type, (const uint8_t *)weights, blocks, a, batch, output, stride, begin, end);
    return 1;
}

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
        const uint8_t byte = values[llmk_register_bytes(type) * (k % 16 / 4) + 4 * r + k % 4];
        return (k < 16 ? byte & 0x0F : byte >> 4) - llmk_value_offset(type);
    }
    const uint8_t byte = values[llmk_register_bytes(type) * (k / 4) + 4 * r + k % 4];
    return type == LLMK_Q8_0 ? (int8_t)byte : byte - llmk_value_offset(type);
}

static void matmul_portable(int type, const uint8_t *weights, int blocks, llmk_activations a, int batch, float *output,
                            int stride, int begin, int end) {
    const int group_block = llmk_group_block_bytes(type);
    for (int row = begin; row < end; row++) {
        const int r = row % llmk_group_rows(type);
        const uint8_t *group = weights + (size_t)(row / llmk_group_rows(type)) * blocks * group_block;
        for (int b = 0; b < batch; b++) {
            float accumulator = 0;
            for (int block = 0; block < blocks; block++) {
                const uint8_t *pointer = group + (size_t)block * group_block;
                const size_t vector = (size_t)b * blocks + block;
                const int8_t *x = a.values + vector * 32;
                int total = 0;
                for (int k = 0; k < 32; k++) total += interleaved_weight(type, pointer + llmk_header_bytes(type), r, k) * x[k];
                accumulator = fmaf(llmk_half_at(pointer + 2 * r) * a.scales[vector], (float)total, accumulator);
                if (llmk_has_minimum(type)) {
                    accumulator = fmaf(llmk_half_at(pointer + llmk_minimums_at(type) + 2 * r), a.sums[vector], accumulator);
                }
            }
            output[(size_t)b * stride + row] = accumulator;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// x86 kernels, compiled for two instruction sets whatever the build's target and chosen at run
// time: AVX2, and AVX-512 VNNI (one instruction for the byte products; 512-bit registers for
// sixteen-row groups). Both produce exactly the portable kernel's numbers: the integer sums are
// exact either way.

#ifdef LLMK_X86
// How far ahead of the block being multiplied weights are asked for (sixteen-row groups, and any
// group on a batch), into L2 and into L1; the first LLMK_FAR_AHEAD bytes of every call's rows are
// asked for into L2 as it starts.
enum { LLMK_FAR_AHEAD = 8192, LLMK_NEAR_AHEAD = 1024 };

// The types of each group height (llmk_group_rows), so each copy compiles only the ones it takes.
#define LLMK_SIXTEEN_ROW_TYPES(CALL)                                                                            \
    switch (type) {                                                                                             \
    case LLMK_Q5_1: CALL(LLMK_Q5_1); break;                                                                     \
    default: CALL(LLMK_Q4_1); break;                                                                            \
    }
#define LLMK_EIGHT_ROW_TYPES(CALL)                                                                              \
    switch (type) {                                                                                             \
    case LLMK_Q4_0: CALL(LLMK_Q4_0); break;                                                                     \
    case LLMK_Q5_0: CALL(LLMK_Q5_0); break;                                                                     \
    default: CALL(LLMK_Q8_0); break;                                                                            \
    }

// 256-bit registers: AVX2 for every type, and VNNI for the eight-row ones.
#define llmk_v_int __m256i
#define llmk_v_float __m256
#define LLMK_V_LOAD(p) _mm256_loadu_si256((const __m256i *)(p))
#define LLMK_V_AND _mm256_and_si256
#define LLMK_V_XOR _mm256_xor_si256
#define LLMK_V_SRLI16 _mm256_srli_epi16
#define LLMK_V_SET1_8 _mm256_set1_epi8
#define LLMK_V_SET1_32 _mm256_set1_epi32
#define LLMK_V_ADD32 _mm256_add_epi32
#define LLMK_V_DPBUSD _mm256_dpbusd_epi32
#define LLMK_V_HALVES(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p)))
#define LLMK_V_FZERO _mm256_setzero_ps
#define LLMK_V_FSET1 _mm256_set1_ps
#define LLMK_V_FMUL _mm256_mul_ps
#define LLMK_V_FMADD _mm256_fmadd_ps
#define LLMK_V_FROM_INT _mm256_cvtepi32_ps
#define LLMK_V_FSTORE _mm256_storeu_ps
#define LLMK_LANES 8

#define LLMK_SUFFIX(name) name##_avx2
#define LLMK_TARGET __attribute__((target("avx2,fma,f16c")))
#define LLMK_TILE 4  // sixteen vector registers: four accumulators and four sums beside the weights
#define LLMK_TYPES LLMK_FOR_TYPE
#include "BlockwiseDotX86.inc"
#undef LLMK_SUFFIX
#undef LLMK_TARGET
#undef LLMK_TILE
#undef LLMK_TYPES

#define LLMK_SUFFIX(name) name##_vnni8
#define LLMK_TARGET __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni")))
#define LLMK_VNNI 1
#define LLMK_TILE 8  // thirty-two vector registers
#define LLMK_TYPES LLMK_EIGHT_ROW_TYPES
#include "BlockwiseDotX86.inc"
#undef LLMK_SUFFIX
#undef LLMK_TYPES

// 512-bit registers, a whole sixteen-row group each.
#undef llmk_v_int
#undef llmk_v_float
#undef LLMK_V_LOAD
#undef LLMK_V_AND
#undef LLMK_V_XOR
#undef LLMK_V_SRLI16
#undef LLMK_V_SET1_8
#undef LLMK_V_SET1_32
#undef LLMK_V_ADD32
#undef LLMK_V_DPBUSD
#undef LLMK_V_HALVES
#undef LLMK_V_FZERO
#undef LLMK_V_FSET1
#undef LLMK_V_FMUL
#undef LLMK_V_FMADD
#undef LLMK_V_FROM_INT
#undef LLMK_V_FSTORE
#undef LLMK_LANES
#define llmk_v_int __m512i
#define llmk_v_float __m512
#define LLMK_V_LOAD(p) _mm512_loadu_si512((const void *)(p))
#define LLMK_V_AND _mm512_and_si512
#define LLMK_V_XOR _mm512_xor_si512
#define LLMK_V_SRLI16 _mm512_srli_epi16
#define LLMK_V_SET1_8 _mm512_set1_epi8
#define LLMK_V_SET1_32 _mm512_set1_epi32
#define LLMK_V_ADD32 _mm512_add_epi32
#define LLMK_V_DPBUSD _mm512_dpbusd_epi32
#define LLMK_V_HALVES(p) _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p)))
#define LLMK_V_FZERO _mm512_setzero_ps
#define LLMK_V_FSET1 _mm512_set1_ps
#define LLMK_V_FMUL _mm512_mul_ps
#define LLMK_V_FMADD _mm512_fmadd_ps
#define LLMK_V_FROM_INT _mm512_cvtepi32_ps
#define LLMK_V_FSTORE _mm512_storeu_ps
#define LLMK_LANES 16

#define LLMK_SUFFIX(name) name##_vnni16
#define LLMK_TYPES LLMK_SIXTEEN_ROW_TYPES
#include "BlockwiseDotX86.inc"
#undef LLMK_SUFFIX
#undef LLMK_TARGET
#undef LLMK_VNNI
#undef LLMK_TILE
#undef LLMK_TYPES
#undef LLMK_LANES

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
    case 2:
        return llmk_group_rows(type) == 16
                   ? matmul_vnni16(type, (const uint8_t *)weights, blocks, a, batch, output, stride, begin, end)
                   : matmul_vnni8(type, (const uint8_t *)weights, blocks, a, batch, output, stride, begin, end);
    case 1: return matmul_avx2(type, (const uint8_t *)weights, blocks, a, batch, output, stride, begin, end);
    default: break;
    }
#endif
    matmul_portable(type, (const uint8_t *)weights, blocks, a, batch, output, stride, begin, end);
    return 1;
}

// The parts of llama.cpp's forward pass outside the matrix products, in its exact arithmetic on
// this kind of CPU (an AVX-512 build, as pip builds llama-cpp-python here): the lane order of
// its half-precision dot products and their reductions, its softmax, and its vectorised exp, so
// that greedy output can match llama.cpp token for token.

#include "LLMKernels.h"

#include <math.h>
#include <string.h>

#include "Exp.h"
#include "Half.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define LLMK_X86 1
#endif

// GCC's _mm512_reduce_add_ps: halves, quarters, then (0+2)+(1+3).
static inline float llmk_reduce16(const float v[16]) {
    float t3[8], t6[4];
    for (int i = 0; i < 8; i++) t3[i] = v[8 + i] + v[i];
    for (int i = 0; i < 4; i++) t6[i] = t3[4 + i] + t3[i];
    return (t6[0] + t6[2]) + (t6[1] + t6[3]);
}

// GGML_F32x16_REDUCE over four 16-lane accumulators laid out one after another.
static inline float llmk_reduce_lanes64(const float lanes[64]) {
    float x0[16];
    for (int l = 0; l < 16; l++) {
        const float a = lanes[l] + lanes[32 + l];
        const float b = lanes[16 + l] + lanes[48 + l];
        x0[l] = a + b;
    }
    return llmk_reduce16(x0);
}

#define LLMK_SUFFIX(name) name##_portable
#define LLMK_TARGET
#define LLMK_H2F(h) llmk_half_to_float(h)
#define LLMK_F2H(f) llmk_float_to_half(f)
#include "AttentionGGMLX.inc"
#undef LLMK_SUFFIX
#undef LLMK_TARGET
#undef LLMK_H2F
#undef LLMK_F2H

#ifdef LLMK_X86
#define LLMK_SUFFIX(name) name##_f16c
#define LLMK_TARGET __attribute__((target("avx2,fma,f16c")))
#define LLMK_H2F(h) _cvtsh_ss(h)
#define LLMK_F2H(f) _cvtss_sh(f, 0)
#define LLMK_ATTENTION_VECTORS 1
#include "AttentionGGMLX.inc"
#undef LLMK_SUFFIX
#undef LLMK_TARGET
#undef LLMK_H2F
#undef LLMK_F2H
#undef LLMK_ATTENTION_VECTORS
#endif

void llmk_to_half(const float *input, uint16_t *output, int count) {
#ifdef LLMK_X86
    if (llmk_best_level() > 0) return to_half_f16c(input, output, count);
#endif
    to_half_portable(input, output, count);
}

void llmk_attention(int heads, const float *queries, const uint16_t *keys, const uint16_t *values, int stride,
                    int length, int count, int skip, float scale, float *scores, float *outputs,
                    llmk_cache_view upcoming) {
    llmk_attention_at_level(llmk_best_level(), heads, queries, keys, values, stride, length, count, skip, scale, scores,
                            outputs, upcoming);
}

void llmk_attention_at_level(int level, int heads, const float *queries, const uint16_t *keys, const uint16_t *values,
                             int stride, int length, int count, int skip, float scale, float *scores, float *outputs,
                             llmk_cache_view upcoming) {
#ifdef LLMK_X86
    if (level > 0 && llmk_best_level() > 0) {
        return attention_f16c(heads, queries, keys, values, stride, length, count, skip, scale, scores, outputs,
                              upcoming);
    }
#endif
    attention_portable(heads, queries, keys, values, stride, length, count, skip, scale, scores, outputs, upcoming);
}

void llmk_swiglu(float *gate, const float *up, int begin, int end, int total) {
    llmk_swiglu_at_level(llmk_best_level(), gate, up, begin, end, total);
}

void llmk_swiglu_at_level(int level, float *gate, const float *up, int begin, int end, int total) {
#ifdef LLMK_X86
    if (level > 0 && llmk_best_level() > 0) return swiglu_f16c(gate, up, begin, end, total);
#endif
    swiglu_portable(gate, up, begin, end, total);
}

void llmk_rope(float *vector, int heads, int length, const float *rotation, int partner) {
#ifdef LLMK_X86
    // The F16C copy is compiled with FMA, so fmaf is one instruction there, not a library call.
    if (llmk_best_level() > 0) return rope_f16c(vector, heads, length, rotation, partner);
#endif
    rope_portable(vector, heads, length, rotation, partner);
}

#ifdef LLMK_X86
__attribute__((target("avx2,f16c"))) static void from_half_f16c(const uint16_t *input, float *output, size_t count) {
    size_t i = 0;
    for (; i + 8 <= count; i += 8) _mm256_storeu_ps(output + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(input + i))));
    for (; i < count; i++) output[i] = llmk_half_to_float(input[i]);
}
#endif

void llmk_from_half(const uint16_t *input, float *output, size_t count) {
#ifdef LLMK_X86
    if (llmk_best_level() > 0) return from_half_f16c(input, output, count);
#endif
    for (size_t i = 0; i < count; i++) output[i] = llmk_half_to_float(input[i]);
}

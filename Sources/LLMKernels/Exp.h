// ggml's vectorised exp (ggml_v_expf, AVX-512 build): both attention kernels and SwiGLU take
// their exp from here, one lane at a time or eight, with the same bits either way.
#ifndef LLMK_EXP_H
#define LLMK_EXP_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

// One lane: a polynomial on the reduced argument, scaled by 2^n.
static inline float llmk_ggml_expf(float x) {
    const float r = 0x1.8p23f;
    const float z = fmaf(x, 0x1.715476p+0f, r);
    const float n = z - r;
    const float b = fmaf(-n, 0x1.7f7d1cp-20f, fmaf(-n, 0x1.62e4p-1f, x));
    const float u = b * b;
    const float j = fmaf(fmaf(fmaf(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u, fmaf(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)), u,
                         fmaf(0x1.ffffecp-1f, b, 1.0f));
    if (fabsf(n) > 192) return n <= 0 ? 0.0f : INFINITY;
    const int exponent = (int)n;
    if (exponent >= -126 && exponent <= 127) {
        // A power of two: the multiplication is exact but for the final rounding, as scalef's.
        uint32_t bits = (uint32_t)(exponent + 127) << 23;
        float scale;
        memcpy(&scale, &bits, sizeof scale);
        return j * scale;
    }
    return scalbnf(j, exponent);
}

#if defined(__x86_64__) || defined(__i386__)
// llmk_ggml_expf on eight values in place, operation for operation; any lane whose power of two
// needs the slow path sends the group back to the scalar function.
__attribute__((target("avx2,fma"), always_inline)) static inline void llmk_expf8(float *values) {
    const __m256 x = _mm256_loadu_ps(values);
    const __m256 r = _mm256_set1_ps(0x1.8p23f);
    const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), r);
    const __m256 n = _mm256_sub_ps(z, r);
    const __m256 minus_n = _mm256_xor_ps(n, _mm256_set1_ps(-0.0f));
    const __m256 b = _mm256_fmadd_ps(minus_n, _mm256_set1_ps(0x1.7f7d1cp-20f),
                                     _mm256_fmadd_ps(minus_n, _mm256_set1_ps(0x1.62e4p-1f), x));
    const __m256 u = _mm256_mul_ps(b, b);
    const __m256 j = _mm256_fmadd_ps(
        _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), b, _mm256_set1_ps(0x1.573e2ep-5f)), u,
                        _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b, _mm256_set1_ps(0x1.fffdb6p-2f))),
        u, _mm256_fmadd_ps(_mm256_set1_ps(0x1.ffffecp-1f), b, _mm256_set1_ps(1.0f)));
    // Exponents within [-126, 127] (n is a whole number here) scale by an exact power of two.
    const __m256 in_range = _mm256_and_ps(_mm256_cmp_ps(n, _mm256_set1_ps(-126.0f), _CMP_GE_OQ),
                                          _mm256_cmp_ps(n, _mm256_set1_ps(127.0f), _CMP_LE_OQ));
    if (_mm256_movemask_ps(in_range) != 0xFF) {
        for (int k = 0; k < 8; k++) values[k] = llmk_ggml_expf(values[k]);
        return;
    }
    const __m256i exponent = _mm256_cvtps_epi32(n);
    const __m256 scale = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(exponent, _mm256_set1_epi32(127)), 23));
    _mm256_storeu_ps(values, _mm256_mul_ps(j, scale));
}

// llmk_ggml_expf on sixteen values in place, operation for operation (AVX-512), as llmk_expf8.
__attribute__((target("avx512f"), always_inline)) static inline void llmk_expf16(float *values) {
    const __m512 x = _mm512_loadu_ps(values);
    const __m512 r = _mm512_set1_ps(0x1.8p23f);
    const __m512 z = _mm512_fmadd_ps(x, _mm512_set1_ps(0x1.715476p+0f), r);
    const __m512 n = _mm512_sub_ps(z, r);
    const __m512 minus_n = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(n), _mm512_set1_epi32((int)0x80000000)));
    const __m512 b = _mm512_fmadd_ps(minus_n, _mm512_set1_ps(0x1.7f7d1cp-20f),
                                     _mm512_fmadd_ps(minus_n, _mm512_set1_ps(0x1.62e4p-1f), x));
    const __m512 u = _mm512_mul_ps(b, b);
    const __m512 j = _mm512_fmadd_ps(
        _mm512_fmadd_ps(_mm512_fmadd_ps(_mm512_set1_ps(0x1.0e4020p-7f), b, _mm512_set1_ps(0x1.573e2ep-5f)), u,
                        _mm512_fmadd_ps(_mm512_set1_ps(0x1.555e66p-3f), b, _mm512_set1_ps(0x1.fffdb6p-2f))),
        u, _mm512_fmadd_ps(_mm512_set1_ps(0x1.ffffecp-1f), b, _mm512_set1_ps(1.0f)));
    const __mmask16 in_range = _mm512_cmp_ps_mask(n, _mm512_set1_ps(-126.0f), _CMP_GE_OQ) &
                               _mm512_cmp_ps_mask(n, _mm512_set1_ps(127.0f), _CMP_LE_OQ);
    if (in_range != 0xFFFF) {
        for (int k = 0; k < 16; k++) values[k] = llmk_ggml_expf(values[k]);
        return;
    }
    const __m512i exponent = _mm512_cvtps_epi32(n);
    const __m512 scale = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(exponent, _mm512_set1_epi32(127)), 23));
    _mm512_storeu_ps(values, _mm512_mul_ps(j, scale));
}
#endif

#endif

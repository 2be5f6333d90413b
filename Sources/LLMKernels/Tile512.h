// The 8 × 32 float accumulator tile that both AVX-512 product kernels (float and BF16) keep in
// sixteen registers: masks for a partial tile's columns, the start (C's values or zeros) and the
// store. Macros rather than functions so the array stays in registers whatever the inliner does.
#ifndef LLMK_TILE512_H
#define LLMK_TILE512_H

#define LLMK_TILE512_START(acc, m0, m1, rows, columns, c, ldc, start_from_c)                                        \
    const __mmask16 m0 = (columns) >= 16 ? 0xFFFF : (__mmask16)((1u << (columns)) - 1);                              \
    const __mmask16 m1 = (columns) <= 16 ? 0 : (columns) >= 32 ? 0xFFFF : (__mmask16)((1u << ((columns) - 16)) - 1); \
    __m512 acc[8][2];                                                                                                \
    for (int i = 0; i < 8; i++) {                                                                                    \
        if (i < (rows) && (start_from_c)) {                                                                          \
            acc[i][0] = _mm512_maskz_loadu_ps(m0, (c) + (size_t)i * (ldc));                                          \
            acc[i][1] = _mm512_maskz_loadu_ps(m1, (c) + (size_t)i * (ldc) + 16);                                     \
        } else {                                                                                                     \
            acc[i][0] = _mm512_setzero_ps();                                                                         \
            acc[i][1] = _mm512_setzero_ps();                                                                         \
        }                                                                                                            \
    }

#define LLMK_TILE512_STORE(acc, m0, m1, rows, c, ldc)                            \
    for (int i = 0; i < (rows); i++) {                                           \
        _mm512_mask_storeu_ps((c) + (size_t)i * (ldc), m0, acc[i][0]);           \
        _mm512_mask_storeu_ps((c) + (size_t)i * (ldc) + 16, m1, acc[i][1]);      \
    }

#endif

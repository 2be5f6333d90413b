#include "Common.h"
#include "Tile512.h"

// Float matrix products for the diffusion engine. Every output element is one accumulator that
// starts at 0 (or at C's value with `accumulate`) and takes a fused multiply-add per k, in k order;
// the AVX-512, AVX2 and portable paths differ only in how many accumulators they keep in registers,
// so they give the same bits. Register tiles: AVX-512 8 rows × 32 columns, AVX2 4 × 16. B is read
// from panels of the tile's width, k-major (packed here when B's rows are the outputs).

#include <math.h>
#include <stdlib.h>

enum { KC = 256 };  // k-block: a B panel of 256 × 32 floats (32 KB) stays in L1/L2 across a row tile

/// B's columns j0..j0+width-1 for k in k0..k0+depth-1, k-major (row k holds `width` values, zeros past n).
static void pack_b(int b_transposed, const float *b, int ldb, int n, int j0, int width, int k0, int depth, float *panel) {
    for (int k = 0; k < depth; k++) {
        float *row = panel + (size_t)k * width;
        for (int j = 0; j < width; j++) {
            const int column = j0 + j;
            row[j] = column >= n ? 0.0f
                     : b_transposed ? b[(size_t)column * ldb + k0 + k]
                                    : b[(size_t)(k0 + k) * ldb + column];
        }
    }
}

static void tile_portable(int rows, int columns, int depth, const float *a, int lda, const float *panel, int width,
                          float *c, int ldc, int start_from_c) {
    for (int i = 0; i < rows; i++) {
        for (int j = 0; j < columns; j++) {
            float acc = start_from_c ? c[(size_t)i * ldc + j] : 0.0f;
            for (int k = 0; k < depth; k++) acc = fmaf(a[(size_t)i * lda + k], panel[(size_t)k * width + j], acc);
            c[(size_t)i * ldc + j] = acc;
        }
    }
}

#ifdef LLMK_X86
__attribute__((target("avx512f"))) static void tile_avx512(int rows, int columns, int depth, const float *a, int lda,
                                                           const float *panel, float *c, int ldc, int start_from_c) {
    // rows ≤ 8, columns ≤ 32, panel width 32.
    LLMK_TILE512_START(acc, m0, m1, rows, columns, c, ldc, start_from_c)
    if (rows == 8) {
        for (int k = 0; k < depth; k++) {
            const __m512 b0 = _mm512_loadu_ps(panel + (size_t)k * 32), b1 = _mm512_loadu_ps(panel + (size_t)k * 32 + 16);
            for (int i = 0; i < 8; i++) {
                const __m512 x = _mm512_set1_ps(a[(size_t)i * lda + k]);
                acc[i][0] = _mm512_fmadd_ps(x, b0, acc[i][0]);
                acc[i][1] = _mm512_fmadd_ps(x, b1, acc[i][1]);
            }
        }
    } else {
        for (int k = 0; k < depth; k++) {
            const __m512 b0 = _mm512_loadu_ps(panel + (size_t)k * 32), b1 = _mm512_loadu_ps(panel + (size_t)k * 32 + 16);
            for (int i = 0; i < rows; i++) {
                const __m512 x = _mm512_set1_ps(a[(size_t)i * lda + k]);
                acc[i][0] = _mm512_fmadd_ps(x, b0, acc[i][0]);
                acc[i][1] = _mm512_fmadd_ps(x, b1, acc[i][1]);
            }
        }
    }
    LLMK_TILE512_STORE(acc, m0, m1, rows, c, ldc)
}

__attribute__((target("avx2,fma"))) static void tile_avx2(int rows, int columns, int depth, const float *a, int lda,
                                                          const float *panel, float *c, int ldc, int start_from_c) {
    // rows ≤ 4, columns ≤ 16, panel width 16. Partial columns go through a small buffer.
    float buffer[4][16];
    for (int i = 0; i < rows; i++) {
        for (int j = 0; j < 16; j++) buffer[i][j] = start_from_c && j < columns ? c[(size_t)i * ldc + j] : 0.0f;
    }
    __m256 acc[4][2];
    for (int i = 0; i < 4; i++) {
        acc[i][0] = i < rows ? _mm256_loadu_ps(buffer[i]) : _mm256_setzero_ps();
        acc[i][1] = i < rows ? _mm256_loadu_ps(buffer[i] + 8) : _mm256_setzero_ps();
    }
    for (int k = 0; k < depth; k++) {
        const __m256 b0 = _mm256_loadu_ps(panel + (size_t)k * 16), b1 = _mm256_loadu_ps(panel + (size_t)k * 16 + 8);
        for (int i = 0; i < rows; i++) {
            const __m256 x = _mm256_set1_ps(a[(size_t)i * lda + k]);
            acc[i][0] = _mm256_fmadd_ps(x, b0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(x, b1, acc[i][1]);
        }
    }
    for (int i = 0; i < rows; i++) {
        _mm256_storeu_ps(buffer[i], acc[i][0]);
        _mm256_storeu_ps(buffer[i] + 8, acc[i][1]);
        for (int j = 0; j < columns; j++) c[(size_t)i * ldc + j] = buffer[i][j];
    }
}
#endif

void llmk_sgemm_at_level(int level, int b_transposed, int m, int n, int depth, const float *a, int lda, const float *b,
                         int ldb, float *c, int ldc, int accumulate) {
    level = llmk_level(level);
    const int width = level >= 2 ? 32 : 16, tile_rows = level >= 2 ? 8 : 4;
    float *panel = malloc(sizeof(float) * KC * width);
    for (int j0 = 0; j0 < n; j0 += width) {
        const int columns = n - j0 < width ? n - j0 : width;
        for (int k0 = 0; k0 < depth || k0 == 0; k0 += KC) {
            const int block = depth - k0 < KC ? depth - k0 : KC;
            pack_b(b_transposed, b, ldb, n, j0, width, k0, block, panel);
            // The first k-block starts from 0 unless C is added to; later ones from the partial sums.
            const int start_from_c = accumulate || k0 > 0;
            for (int i0 = 0; i0 < m; i0 += tile_rows) {
                const int rows = m - i0 < tile_rows ? m - i0 : tile_rows;
                const float *a_tile = a + (size_t)i0 * lda + k0;
                float *c_tile = c + (size_t)i0 * ldc + j0;
#ifdef LLMK_X86
                if (level >= 2) {
                    tile_avx512(rows, columns, block, a_tile, lda, panel, c_tile, ldc, start_from_c);
                    continue;
                }
                if (level >= 1) {
                    tile_avx2(rows, columns, block, a_tile, lda, panel, c_tile, ldc, start_from_c);
                    continue;
                }
#endif
                tile_portable(rows, columns, block, a_tile, lda, panel, width, c_tile, ldc, start_from_c);
            }
            if (depth == 0) break;
        }
    }
    free(panel);
}

void llmk_sgemm(int b_transposed, int m, int n, int depth, const float *a, int lda, const float *b, int ldb, float *c,
                int ldc, int accumulate) {
    llmk_sgemm_at_level(llmk_best_level(), b_transposed, m, n, depth, a, lda, b, ldb, c, ldc, accumulate);
}

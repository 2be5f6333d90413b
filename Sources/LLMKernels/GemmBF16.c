#include "Common.h"
#include "Tile512.h"

// BF16 matrix products for the diffusion engine's fast mode: C (+)= A·B with both operands rounded
// to bfloat16 (nearest even) and the sums kept in float. Each output's accumulator takes, per pair
// of k (2p, 2p+1), the product of the odd elements and then the even ones, each product exact and
// each addition rounded, with denormals flushed — what AVX-512's `vdpbf16ps` does — so the AVX-512
// BF16, AVX2 and portable paths give the same bits.
//
// Operands are packed per block as BLIS does: B into k-pair-major panels 32 columns wide
// (16 on AVX2), A into panels of 8 rows (4 on AVX2); floats are rounded while packing, so
// activations need no separate conversion pass and weights may come as BF16 already.

#include <math.h>
#include <stdlib.h>

enum { KC = 512, MC = 128, NC = 1024 };  // KC even; panels: A 128×512 (128 KB), B 512×1024 (1 MB)

static inline uint16_t to_bf16(float value) {
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    if ((bits & 0x7FFFFFFF) > 0x7F800000) return (uint16_t)((bits >> 16) | 0x40);  // quiet NaN
    bits += 0x7FFF + ((bits >> 16) & 1);
    return (uint16_t)(bits >> 16);
}

static inline float from_bf16(uint16_t value) {
    const uint32_t bits = (uint32_t)value << 16;
    float out;
    memcpy(&out, &bits, sizeof out);
    return out;
}

void llmk_round_bf16(const float *values, uint16_t *out, size_t count) {
    for (size_t i = 0; i < count; i++) out[i] = to_bf16(values[i]);
}

#ifdef LLMK_X86
/// Pairs of `values` (k, k+1) rounded to BF16, 16 pairs at a time, into every `stride`-th word of
/// `out`; returns how many values it took (a multiple of 32).
__attribute__((target("avx512f,avx512bf16"))) static int llmk_bf16_pairs_avx512(const float *values, int count,
                                                                                  uint32_t *out, int stride) {
    int k = 0;
    uint32_t words[16];
    for (; k + 32 <= count; k += 32) {
        const __m512bh rounded = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(values + k + 16), _mm512_loadu_ps(values + k));
        _mm512_storeu_si512(words, (__m512i)rounded);
        for (int q = 0; q < 16; q++) out[(size_t)(k / 2 + q) * stride] = words[q];
    }
    return k;
}

/// Words (even[j], odd[j]) rounded to BF16 for j below `count` in steps of 16; returns how many.
__attribute__((target("avx512f,avx512bw,avx512bf16"))) static int llmk_bf16_interleave_avx512(const float *even,
                                                                                               const float *odd,
                                                                                               int count, uint32_t *out) {
    // After rounding, words 0..15 hold even's values and 16..31 odd's; the permutation pairs them.
    const __m512i order = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6,
                                           21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    int j = 0;
    for (; j + 16 <= count; j += 16) {
        const __m512bh rounded = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(odd + j), _mm512_loadu_ps(even + j));
        _mm512_storeu_si512(out + j, _mm512_permutexvar_epi16(order, (__m512i)rounded));
    }
    return j;
}
#endif

/// Lines whose k runs are contiguous (A's rows; B's columns when B is n × depth), k0..k0+depth-1,
/// as [panel][pair][line][2], `panel` lines a panel (zeros past `count` and past `depth`).
static void pack_lines(int level, const void *source, int is_bf16, int stride, int count, int k0, int depth, int panel,
                       uint16_t *out) {
    const int pairs = (depth + 1) / 2;
    for (int p0 = 0; p0 < count; p0 += panel) {
        uint32_t *destination = (uint32_t *)(out + (size_t)p0 * pairs * 2);
        for (int r = 0; r < panel; r++) {
            const int line = p0 + r;
            if (line >= count) {
                for (int p = 0; p < pairs; p++) destination[(size_t)p * panel + r] = 0;
                continue;
            }
            int k = 0;
            if (is_bf16) {
                const uint16_t *values = (const uint16_t *)source + (size_t)line * stride + k0;
                for (; k + 2 <= depth; k += 2) {
                    uint32_t pair;
                    memcpy(&pair, values + k, sizeof pair);
                    destination[(size_t)(k / 2) * panel + r] = pair;
                }
                if (k < depth) destination[(size_t)(k / 2) * panel + r] = values[k];
                continue;
            }
            const float *values = (const float *)source + (size_t)line * stride + k0;
#ifdef LLMK_X86
            if (level >= 2) k = llmk_bf16_pairs_avx512(values, depth, destination + r, panel);
#endif
            for (; k < depth; k += 2) {
                const uint32_t odd = k + 1 < depth ? to_bf16(values[k + 1]) : 0;
                destination[(size_t)(k / 2) * panel + r] = to_bf16(values[k]) | odd << 16;
            }
        }
    }
}

/// B's rows k0..k0+depth-1 (B is depth × n, floats), columns 0..count-1, as [panel][pair][column][2],
/// `width` columns a panel.
static void pack_rows(int level, const float *b, int ldb, int count, int k0, int depth, int width, uint16_t *out) {
    const int pairs = (depth + 1) / 2;
    for (int p = 0; p < pairs; p++) {
        const float *even = b + (size_t)(k0 + 2 * p) * ldb, *odd = 2 * p + 1 < depth ? even + ldb : NULL;
        for (int j0 = 0; j0 < count; j0 += width) {
            uint32_t *destination = (uint32_t *)(out + (size_t)j0 * pairs * 2) + (size_t)p * width;
            int j = 0;
#ifdef LLMK_X86
            if (level >= 2 && odd) j = llmk_bf16_interleave_avx512(even + j0, odd + j0, count - j0 < width ? count - j0 : width, destination);
#endif
            for (; j < width; j++) {
                const int column = j0 + j;
                destination[j] = column >= count ? 0
                                 : (uint32_t)to_bf16(even[column]) | (uint32_t)(odd ? to_bf16(odd[column]) : 0) << 16;
            }
        }
    }
}

static inline float flush(float value) { return fabsf(value) < 0x1p-126f ? copysignf(0.0f, value) : value; }

static void tile_portable(int rows, int columns, int pairs, const uint16_t *a, int panel_rows, const uint16_t *b,
                          int width, float *c, int ldc, int start_from_c) {
    for (int i = 0; i < rows; i++) {
        for (int j = 0; j < columns; j++) {
            float acc = start_from_c ? flush(c[(size_t)i * ldc + j]) : 0.0f;
            for (int p = 0; p < pairs; p++) {
                const uint16_t *x = a + ((size_t)p * panel_rows + i) * 2, *y = b + ((size_t)p * width + j) * 2;
                acc = flush(fmaf(flush(from_bf16(x[1])), flush(from_bf16(y[1])), acc));
                acc = flush(fmaf(flush(from_bf16(x[0])), flush(from_bf16(y[0])), acc));
            }
            c[(size_t)i * ldc + j] = acc;
        }
    }
}

#ifdef LLMK_X86
__attribute__((target("avx512f,avx512bf16"))) static void tile_avx512(int rows, int columns, int pairs,
                                                                      const uint16_t *a, const uint16_t *b, float *c,
                                                                      int ldc, int start_from_c) {
    // rows ≤ 8, columns ≤ 32; A panel 8 rows, B panel 32 columns.
    LLMK_TILE512_START(acc, m0, m1, rows, columns, c, ldc, start_from_c)
    const uint32_t *pa = (const uint32_t *)a;
    for (int p = 0; p < pairs; p++) {
        const __m512bh b0 = (__m512bh)_mm512_loadu_si512(b + (size_t)p * 64);
        const __m512bh b1 = (__m512bh)_mm512_loadu_si512(b + (size_t)p * 64 + 32);
        for (int i = 0; i < 8; i++) {
            const __m512bh x = (__m512bh)_mm512_set1_epi32((int)pa[(size_t)p * 8 + i]);
            acc[i][0] = _mm512_dpbf16_ps(acc[i][0], x, b0);
            acc[i][1] = _mm512_dpbf16_ps(acc[i][1], x, b1);
        }
    }
    LLMK_TILE512_STORE(acc, m0, m1, rows, c, ldc)
}

__attribute__((target("avx2,fma"))) static void tile_avx2(int rows, int columns, int pairs, const uint16_t *a,
                                                          const uint16_t *b, float *c, int ldc, int start_from_c) {
    // rows ≤ 4, columns ≤ 16; A panel 4 rows, B panel 16 columns. Partial tiles through a buffer.
    float buffer[4][16];
    for (int i = 0; i < 4; i++) {
        for (int j = 0; j < 16; j++) buffer[i][j] = i < rows && j < columns && start_from_c ? c[(size_t)i * ldc + j] : 0.0f;
    }
    __m256 acc[4][2];
    for (int i = 0; i < 4; i++) {
        acc[i][0] = _mm256_loadu_ps(buffer[i]);
        acc[i][1] = _mm256_loadu_ps(buffer[i] + 8);
    }
    const __m256i high = _mm256_set1_epi32((int)0xFFFF0000);
    const uint32_t *pa = (const uint32_t *)a;
    for (int p = 0; p < pairs; p++) {
        // Each 32-bit lane holds one column's (even, odd) pair: odd = the high half, even = shifted up.
        const __m256i y0 = _mm256_loadu_si256((const __m256i *)(b + (size_t)p * 32));
        const __m256i y1 = _mm256_loadu_si256((const __m256i *)(b + (size_t)p * 32 + 16));
        const __m256 odd0 = _mm256_castsi256_ps(_mm256_and_si256(y0, high)), odd1 = _mm256_castsi256_ps(_mm256_and_si256(y1, high));
        const __m256 even0 = _mm256_castsi256_ps(_mm256_slli_epi32(y0, 16)), even1 = _mm256_castsi256_ps(_mm256_slli_epi32(y1, 16));
        for (int i = 0; i < 4; i++) {
            const __m256i x = _mm256_set1_epi32((int)pa[(size_t)p * 4 + i]);
            const __m256 xo = _mm256_castsi256_ps(_mm256_and_si256(x, high)), xe = _mm256_castsi256_ps(_mm256_slli_epi32(x, 16));
            acc[i][0] = _mm256_fmadd_ps(xe, even0, _mm256_fmadd_ps(xo, odd0, acc[i][0]));
            acc[i][1] = _mm256_fmadd_ps(xe, even1, _mm256_fmadd_ps(xo, odd1, acc[i][1]));
        }
    }
    for (int i = 0; i < rows; i++) {
        _mm256_storeu_ps(buffer[i], acc[i][0]);
        _mm256_storeu_ps(buffer[i] + 8, acc[i][1]);
        for (int j = 0; j < columns; j++) c[(size_t)i * ldc + j] = buffer[i][j];
    }
}
#endif

int llmk_bf16_level(void) {
    const int best = llmk_best_level();
#ifdef LLMK_X86
    static int bf16 = -1;
    if (bf16 < 0) bf16 = __builtin_cpu_supports("avx512bf16");
    return best >= 2 && bf16 ? 2 : best;
#else
    return best;
#endif
}

/// Where B's values come from: a matrix, or a convolution's input read as its patch matrix
/// (row k = (channel, dy, dx), column = output pixel) without that matrix ever being stored.
typedef struct {
    const void *b;
    int ldb, b_bf16, transposed;
    const llmk_conv_input *conv;
    int first_pixel;
    float *scratch;  // a block of the patch matrix, KC × NC
} b_source;

/// Rows k0..k0+depth-1 of the patch matrix, columns (pixels) first..first+count-1, into `out`
/// (row-major, `count` wide): input rows copied as runs, zeros where the kernel leaves the input.
static void patch_block(const llmk_conv_input *x, int k0, int depth, int first, int count, float *out) {
    const int area = x->kernel * x->kernel;
    for (int kk = 0; kk < depth; kk++) {
        const int k = k0 + kk, channel = k / area, dy = k % area / x->kernel, dx = k % x->kernel;
        const float *plane = x->input + (size_t)channel * x->height * x->width;
        float *row = out + (size_t)kk * count;
        for (int p = first; p < first + count;) {
            const int oy = p / x->out_width, ox = p % x->out_width;
            const int run = x->out_width - ox < first + count - p ? x->out_width - ox : first + count - p;
            float *destination = row + (p - first);
            const int iy = oy * x->stride + dy - x->padding;
            if (iy < 0 || iy >= x->height) {
                memset(destination, 0, sizeof(float) * run);
            } else if (x->stride == 1) {
                const int ix0 = ox + dx - x->padding;  // input column of the run's first pixel
                const int begin = ix0 < 0 ? -ix0 : 0;
                const int end = x->width - ix0 < run ? x->width - ix0 : run;
                if (begin > 0) memset(destination, 0, sizeof(float) * (begin < run ? begin : run));
                if (end > begin) memcpy(destination + begin, plane + (size_t)iy * x->width + ix0 + begin, sizeof(float) * (end - begin));
                if (end < run) memset(destination + (end > 0 ? end : 0), 0, sizeof(float) * (run - (end > 0 ? end : 0)));
            } else {
                for (int t = 0; t < run; t++) {
                    const int ix = (ox + t) * x->stride + dx - x->padding;
                    destination[t] = ix >= 0 && ix < x->width ? plane[(size_t)iy * x->width + ix] : 0.0f;
                }
            }
            p += run;
        }
    }
}

static void pack_b(int level, const b_source *source, int j0, int columns, int k0, int block, int width,
                   uint16_t *out) {
    if (source->conv) {
        patch_block(source->conv, k0, block, source->first_pixel + j0, columns, source->scratch);
        pack_rows(level, source->scratch, columns, columns, 0, block, width, out);
    } else if (source->transposed) {
        const size_t offset = (size_t)j0 * source->ldb * (source->b_bf16 ? 2 : 4);
        pack_lines(level, (const char *)source->b + offset, source->b_bf16, source->ldb, columns, k0, block, width, out);
    } else {
        pack_rows(level, (const float *)source->b + j0, source->ldb, columns, k0, block, width, out);
    }
}

static void gemm(int level, int flags, int m, int n, int depth, const void *a, int lda, const b_source *source, float *c,
                 int ldc) {
    const int bf16_level = llmk_bf16_level();
    level = level < bf16_level ? level : bf16_level;
    const int a_bf16 = flags & LLMK_GEMM_A_BF16, accumulate = flags & LLMK_GEMM_ACCUMULATE;
    const int width = level >= 2 ? 32 : 16, panel_rows = level >= 2 ? 8 : 4;
#ifdef LLMK_X86
    // The AVX2 and portable paths flush denormals through the control register, as vdpbf16ps does.
    const unsigned int csr = _mm_getcsr();
    if (level < 2) _mm_setcsr(csr | 0x8040);
#endif
    uint16_t *packed_a = aligned_alloc(64, sizeof(uint16_t) * MC * KC);
    uint16_t *packed_b = aligned_alloc(64, sizeof(uint16_t) * NC * KC);
    for (int j0 = 0; j0 < n; j0 += NC) {
        const int columns = n - j0 < NC ? n - j0 : NC;
        for (int k0 = 0; k0 < depth || k0 == 0; k0 += KC) {
            const int block = depth - k0 < KC ? depth - k0 : KC, pairs = (block + 1) / 2;
            pack_b(level, source, j0, columns, k0, block, width, packed_b);
            // The first k-block starts from 0 unless C is added to; later ones from the partial sums.
            const int start_from_c = accumulate || k0 > 0;
            for (int i0 = 0; i0 < m; i0 += MC) {
                const int rows_in_block = m - i0 < MC ? m - i0 : MC;
                pack_lines(level, (const char *)a + (size_t)i0 * lda * (a_bf16 ? 2 : 4), a_bf16, lda, rows_in_block, k0,
                           block, panel_rows, packed_a);
                for (int jr = 0; jr < columns; jr += width) {
                    const uint16_t *b_panel = packed_b + (size_t)jr * pairs * 2;
                    const int cols = columns - jr < width ? columns - jr : width;
                    for (int ir = 0; ir < rows_in_block; ir += panel_rows) {
                        const uint16_t *a_panel = packed_a + (size_t)ir * pairs * 2;
                        const int rows = rows_in_block - ir < panel_rows ? rows_in_block - ir : panel_rows;
                        float *c_tile = c + (size_t)(i0 + ir) * ldc + j0 + jr;
#ifdef LLMK_X86
                        if (level >= 2) {
                            tile_avx512(rows, cols, pairs, a_panel, b_panel, c_tile, ldc, start_from_c);
                            continue;
                        }
                        if (level >= 1) {
                            tile_avx2(rows, cols, pairs, a_panel, b_panel, c_tile, ldc, start_from_c);
                            continue;
                        }
#endif
                        tile_portable(rows, cols, pairs, a_panel, panel_rows, b_panel, width, c_tile, ldc, start_from_c);
                    }
                }
            }
            if (depth == 0) break;
        }
    }
    free(packed_a);
    free(packed_b);
#ifdef LLMK_X86
    _mm_setcsr(csr);
#endif
}

void llmk_gemm_bf16_at_level(int level, int flags, int m, int n, int depth, const void *a, int lda, const void *b,
                             int ldb, float *c, int ldc) {
    const b_source source = {b, ldb, flags & LLMK_GEMM_B_BF16, flags & LLMK_GEMM_B_TRANSPOSED, NULL, 0, NULL};
    gemm(level, flags, m, n, depth, a, lda, &source, c, ldc);
}

void llmk_conv_bf16_at_level(int level, int flags, int outputs, const void *weights, const llmk_conv_input *input,
                             int first_pixel, int pixel_count, float *output) {
    const int depth = input->channels * input->kernel * input->kernel;
    float *scratch = malloc(sizeof(float) * KC * NC);
    const b_source source = {NULL, 0, 0, 0, input, first_pixel, scratch};
    gemm(level, flags, outputs, pixel_count, depth, weights, depth, &source, output + first_pixel,
         input->out_height * input->out_width);
    free(scratch);
}

void llmk_conv_bf16(int flags, int outputs, const void *weights, const llmk_conv_input *input, int first_pixel,
                    int pixel_count, float *output) {
    llmk_conv_bf16_at_level(llmk_bf16_level(), flags, outputs, weights, input, first_pixel, pixel_count, output);
}

void llmk_gemm_bf16(int flags, int m, int n, int depth, const void *a, int lda, const void *b, int ldb, float *c,
                    int ldc) {
    llmk_gemm_bf16_at_level(llmk_bf16_level(), flags, m, n, depth, a, lda, b, ldb, c, ldc);
}

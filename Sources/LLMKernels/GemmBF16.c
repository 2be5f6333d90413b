#include "Common.h"
#include "BF16Tiles.inc"

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

void llmk_round_bf16(const float *values, uint16_t *out, size_t count) {
    for (size_t i = 0; i < count; i++) out[i] = to_bf16(values[i]);
}

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

/// Rows k0..k0+depth-1 of the patch matrix, columns (frames' pixels) first..first+count-1, into
/// `out` (row-major, `count` wide): input rows copied as runs, zeros where the kernel leaves the
/// input. A run ends with its output row, so it never crosses into the next frame.
static void patch_block(const llmk_conv_input *x, int k0, int depth, int first, int count, float *out) {
    const int area = x->kernel * x->kernel, frame_pixels = x->out_height * x->out_width;
    for (int kk = 0; kk < depth; kk++) {
        const int k = k0 + kk, channel = k / area, dy = k % area / x->kernel, dx = k % x->kernel;
        float *row = out + (size_t)kk * count;
        for (int p = first; p < first + count;) {
            const int pixel = p % frame_pixels, oy = pixel / x->out_width, ox = pixel % x->out_width;
            const float *plane = x->frames[p / frame_pixels] + (size_t)channel * x->height * x->width;
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
    const int width = tile_width(level), panel_rows = tile_rows(level);
    const unsigned int csr = flush_denormals_below_bf16(level);
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
                        tile_at_level(level, rows, cols, pairs, a_panel, b_panel, c_tile, ldc, start_from_c);
                    }
                }
            }
            if (depth == 0) break;
        }
    }
    free(packed_a);
    free(packed_b);
    restore_control(csr);
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
         input->frame_count * input->out_height * input->out_width);
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

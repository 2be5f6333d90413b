#include "Common.h"
#include "BF16Tiles.inc"
#include "Exp.h"

// Attention for one head in the BF16 mode, in tiles (flash attention): for a block of queries, the
// keys are visited a block at a time — scores from the BF16 tiles, the running maximum and sum of
// each row updated (earlier sums and outputs rescaled when the maximum grows), the probabilities
// rounded to BF16 and multiplied by the values' block — so no score matrix larger than 64 × 256
// exists and everything stays in cache. Keys and values are packed once per call. The softmax
// steps use ggml's exp (eight lanes or one, the same bits) and eight fixed lanes of sums, so every
// path gives the same bits.

#include <stdlib.h>

enum { QB = 64, KB = 256 };  // queries and keys per block (KB even, a multiple of 8)

/// Rows of `scores` (`count` of them, KB apart, `length` valid): p = exp((s − new max)·scale) in
/// place; `maximum`, the eight-lane sums and the output rows (`out`, `out_stride` apart, `width`
/// wide) rescaled by exp((old max − new max)·scale).
static void update_portable(float *scores, int count, int length, float scale, float *maximum, float (*lanes)[8],
                            float *out, int out_stride, int width) {
    for (int r = 0; r < count; r++) {
        float *row = scores + (size_t)r * KB, top = maximum[r];
        for (int j = 0; j < length; j++) top = row[j] > top ? row[j] : top;
        const float correction = llmk_ggml_expf((maximum[r] - top) * scale);
        maximum[r] = top;
        for (int l = 0; l < 8; l++) lanes[r][l] *= correction;
        for (int d = 0; d < width; d++) out[(size_t)r * out_stride + d] *= correction;
        for (int j = 0; j < length; j++) {
            row[j] = llmk_ggml_expf((row[j] - top) * scale);
            lanes[r][j % 8] += row[j];
        }
    }
}

#ifdef LLMK_X86
// The AVX2 and AVX-512 updates: the same operations on eight or sixteen scores at a time, the sums
// still added eight lanes at a time in order.
#define LLMK_UPDATE_BODY(...)                                                                                \
    for (int r = 0; r < count; r++) {                                                                       \
        float *row = scores + (size_t)r * KB, top = maximum[r];                                             \
        int j = 0;                                                                                          \
        __m256 tops = _mm256_set1_ps(top);                                                                  \
        for (; j + 8 <= length; j += 8) tops = _mm256_max_ps(tops, _mm256_loadu_ps(row + j));               \
        float values[8];                                                                                    \
        _mm256_storeu_ps(values, tops);                                                                     \
        for (int l = 0; l < 8; l++) top = values[l] > top ? values[l] : top;                                \
        for (; j < length; j++) top = row[j] > top ? row[j] : top;                                          \
        const float correction = llmk_ggml_expf((maximum[r] - top) * scale);                                \
        maximum[r] = top;                                                                                   \
        for (int l = 0; l < 8; l++) lanes[r][l] *= correction;                                              \
        for (int d = 0; d < width; d++) out[(size_t)r * out_stride + d] *= correction;                      \
        const __m256 shift = _mm256_set1_ps(top), factor = _mm256_set1_ps(scale);                           \
        __m256 sum = _mm256_loadu_ps(lanes[r]);                                                             \
        j = 0;                                                                                              \
        __VA_ARGS__                                                                                         \
        for (; j + 8 <= length; j += 8) {                                                                   \
            _mm256_storeu_ps(row + j, _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(row + j), shift), factor)); \
            llmk_expf8(row + j);                                                                            \
            sum = _mm256_add_ps(sum, _mm256_loadu_ps(row + j));                                             \
        }                                                                                                   \
        _mm256_storeu_ps(lanes[r], sum);                                                                    \
        for (; j < length; j++) {                                                                           \
            row[j] = llmk_ggml_expf((row[j] - top) * scale);                                                \
            lanes[r][j % 8] += row[j];                                                                      \
        }                                                                                                   \
    }

__attribute__((target("avx2,fma"))) static void update_avx2(float *scores, int count, int length, float scale,
                                                            float *maximum, float (*lanes)[8], float *out,
                                                            int out_stride, int width) {
    LLMK_UPDATE_BODY()
}

__attribute__((target("avx512f,avx2,fma"))) static void update_avx512(float *scores, int count, int length,
                                                                     float scale, float *maximum, float (*lanes)[8],
                                                                     float *out, int out_stride, int width) {
    LLMK_UPDATE_BODY(
        const __m512 shift16 = _mm512_set1_ps(top), factor16 = _mm512_set1_ps(scale);
        for (; j + 16 <= length; j += 16) {
            _mm512_storeu_ps(row + j, _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(row + j), shift16), factor16));
            llmk_expf16(row + j);
            sum = _mm256_add_ps(sum, _mm256_loadu_ps(row + j));
            sum = _mm256_add_ps(sum, _mm256_loadu_ps(row + j + 8));
        })
}
#undef LLMK_UPDATE_BODY
#endif

void llmk_attention_bf16_at_level(int level, const float *queries, const float *keys, const float *values, int stride,
                                  int query_count, int key_count, int head_width, float scale, float *out,
                                  int out_stride) {
    const int bf16_level = llmk_bf16_level();
    level = level < bf16_level ? level : bf16_level;
    const int width = tile_width(level), panel_rows = tile_rows(level);
    const unsigned int csr = flush_denormals_below_bf16(level);
    const int head_pairs = (head_width + 1) / 2;
    const int padded_keys = (key_count + width - 1) / width * width;
    const int padded_width = (head_width + width - 1) / width * width;
    const int key_blocks = (key_count + KB - 1) / KB;

    // Keys as the scores' B (lines of head_width values); values per key block as the output's B.
    uint16_t *packed_keys = malloc(sizeof(uint16_t) * (size_t)padded_keys * head_pairs * 2);
    uint16_t *packed_values = malloc(sizeof(uint16_t) * (size_t)key_blocks * padded_width * KB);
    pack_lines(level, keys, 0, stride, key_count, 0, head_width, width, packed_keys);
    for (int b = 0; b < key_blocks; b++) {
        const int first = b * KB, block = key_count - first < KB ? key_count - first : KB;
        pack_rows(level, values + (size_t)first * stride, stride, head_width, 0, block, width,
                  packed_values + (size_t)b * padded_width * KB);
    }
    uint16_t *packed_queries = malloc(sizeof(uint16_t) * QB * head_pairs * 2);
    uint16_t *packed_scores = malloc(sizeof(uint16_t) * QB * KB);
    float *scores = malloc(sizeof(float) * QB * KB), *partial = malloc(sizeof(float) * QB * padded_width);
    float maximum[QB], lanes[QB][8];

    for (int q0 = 0; q0 < query_count; q0 += QB) {
        const int rows = query_count - q0 < QB ? query_count - q0 : QB;
        pack_lines(level, queries + (size_t)q0 * stride, 0, stride, rows, 0, head_width, panel_rows, packed_queries);
        for (int r = 0; r < QB; r++) {
            maximum[r] = -INFINITY;
            for (int l = 0; l < 8; l++) lanes[r][l] = 0.0f;
        }
        memset(partial, 0, sizeof(float) * QB * padded_width);
        for (int b = 0; b < key_blocks; b++) {
            const int first = b * KB, block = key_count - first < KB ? key_count - first : KB, pairs = (block + 1) / 2;
            for (int jr = 0; jr < block; jr += width) {
                for (int ir = 0; ir < rows; ir += panel_rows) {
                    tile_at_level(level, rows - ir < panel_rows ? rows - ir : panel_rows, block - jr < width ? block - jr : width,
                                  head_pairs, packed_queries + (size_t)ir * head_pairs * 2,
                                  packed_keys + (size_t)(first + jr) * head_pairs * 2, scores + (size_t)ir * KB + jr, KB, 0);
                }
            }
#ifdef LLMK_X86
            if (level >= 2) {
                update_avx512(scores, rows, block, scale, maximum, lanes, partial, padded_width, head_width);
            } else if (level >= 1) {
                update_avx2(scores, rows, block, scale, maximum, lanes, partial, padded_width, head_width);
            } else
#endif
            {
                update_portable(scores, rows, block, scale, maximum, lanes, partial, padded_width, head_width);
            }
            pack_lines(level, scores, 0, KB, rows, 0, block, panel_rows, packed_scores);
            const uint16_t *block_values = packed_values + (size_t)b * padded_width * KB;
            for (int jr = 0; jr < head_width; jr += width) {
                for (int ir = 0; ir < rows; ir += panel_rows) {
                    tile_at_level(level, rows - ir < panel_rows ? rows - ir : panel_rows,
                                  head_width - jr < width ? head_width - jr : width, pairs,
                                  packed_scores + (size_t)ir * pairs * 2, block_values + (size_t)jr * pairs * 2,
                                  partial + (size_t)ir * padded_width + jr, padded_width, 1);
                }
            }
        }
        for (int r = 0; r < rows; r++) {
            const float *l = lanes[r];
            const float sum = ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7]));
            const float inverse = 1.0f / sum;
            for (int d = 0; d < head_width; d++) {
                out[(size_t)(q0 + r) * out_stride + d] = partial[(size_t)r * padded_width + d] * inverse;
            }
        }
    }
    free(packed_keys);
    free(packed_values);
    free(packed_queries);
    free(packed_scores);
    free(scores);
    free(partial);
    restore_control(csr);
}

void llmk_attention_bf16(const float *queries, const float *keys, const float *values, int stride, int query_count,
                         int key_count, int head_width, float scale, float *out, int out_stride) {
    llmk_attention_bf16_at_level(llmk_bf16_level(), queries, keys, values, stride, query_count, key_count, head_width,
                                 scale, out, out_stride);
}

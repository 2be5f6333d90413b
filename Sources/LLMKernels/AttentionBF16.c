#include "Common.h"
#include "BF16Tiles.inc"
#include "SoftmaxUpdate.h"

// Attention for one head in the BF16 mode, in tiles (flash attention): for a block of queries, the
// keys are visited a block at a time — scores from the BF16 tiles, the running maximum and sum of
// each row updated (earlier sums and outputs rescaled when the maximum grows), the probabilities
// rounded to BF16 and multiplied by the values' block — so no score matrix larger than 64 × 256
// exists and everything stays in cache. Keys and values are packed once per call. The softmax
// steps are `llmk_softmax_update`'s (Softmax.c), which give the same bits on every path.

#include <stdlib.h>

enum { QB = 64, KB = 256 };  // queries and keys per block (KB even, a multiple of 8)

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
            llmk_softmax_update(level, scores, KB, rows, block, scale, maximum, lanes, partial, padded_width, head_width);
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
            const float inverse = 1.0f / llmk_lane_sum(lanes[r]);
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

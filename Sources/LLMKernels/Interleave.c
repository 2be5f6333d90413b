#include "LLMKernels.h"

#include <string.h>

#include "Interleaved.h"

size_t llmk_interleaved_size(int type, int rows, int blocks) {
    if (!llmk_has_integer_path(type)) return 0;
    const size_t groups = (size_t)((rows + llmk_group_rows(type) - 1) / llmk_group_rows(type));
    return groups * (size_t)blocks * (size_t)llmk_group_block_bytes(type);
}

int llmk_interleave(int type, const void *weights, size_t row_bytes, int rows, int blocks, void *output) {
    if (!llmk_has_integer_path(type)) return 0;
    const int size = llmk_block_bytes(type), group_block = llmk_group_block_bytes(type);
    const int header = llmk_header_bytes(type), group_rows = llmk_group_rows(type);
    const int register_bytes = llmk_register_bytes(type);
    uint8_t *out = (uint8_t *)output;
    memset(out, 0, llmk_interleaved_size(type, rows, blocks));  // rows past the last stay zero: scale 0
    for (int row = 0; row < rows; row++) {
        const int r = row % group_rows;
        for (int block = 0; block < blocks; block++) {
            const uint8_t *source = (const uint8_t *)weights + (size_t)row * row_bytes + (size_t)block * size;
            uint8_t *target = out + ((size_t)(row / group_rows) * blocks + block) * group_block;
            memcpy(target + 2 * r, source, 2);
            if (llmk_has_minimum(type)) memcpy(target + llmk_minimums_at(type) + 2 * r, source + 2, 2);
            uint8_t *values = target + header;
            for (int i = 0; i < 8; i++) {
                for (int j = 0; j < 4; j++) {
                    const int k = 4 * i + j;
                    uint8_t *value = values + register_bytes * i + 4 * r + j;
                    switch (type) {
                    case LLMK_Q4_0:
                    case LLMK_Q4_1:
                        if (i < 4) *value = source[size - 16 + k];
                        break;
                    case LLMK_Q5_0:
                    case LLMK_Q5_1:
                        *value = (uint8_t)(llmk_small_weight(type, source, k) + llmk_value_offset(type));
                        break;
                    default: *value = source[2 + k]; break;
                    }
                }
            }
        }
    }
    return 1;
}

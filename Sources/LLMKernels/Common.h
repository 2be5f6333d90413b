// What the kernel files share: GGML's block layouts, the run-time choice of instruction set,
// and the macros that give each (weight type, tile size) pair its own compiled copy.
#ifndef LLMK_COMMON_H
#define LLMK_COMMON_H

#include <string.h>

#include "KQuantBlocks.h"
#include "LLMKernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define LLMK_X86 1
#endif

/// Q4_1 and Q5_1 blocks carry a minimum besides the scale.
static inline int llmk_has_minimum(int type) { return type == LLMK_Q4_1 || type == LLMK_Q5_1; }

// Block layouts (ggml's): a half scale, for Q4_1 and Q5_1 a half minimum, for Q5 four bytes of
// fifth bits, then the packed values.

static inline int llmk_block_bytes(int type) {
    switch (type) {
    case LLMK_Q4_0:
    case LLMK_Q4_0_BLOCKWISE:
    case LLMK_IQ4_NL_BLOCKWISE: return 18;
    case LLMK_Q4_1: return 20;
    case LLMK_Q5_0: return 22;
    case LLMK_Q5_1: return 24;
    default: return 34;
    }
}

// Weight j (0..31) of a Q4 or Q5 block as the integer its dot product multiplies: Q4_0 and Q5_0
// are offset to signed, Q4_1 and Q5_1 stay unsigned (their minimum is added separately).
static inline int llmk_small_weight(int type, const uint8_t *block, int j) {
    const uint8_t *packed = block + llmk_block_bytes(type) - 16;
    const int nibble = j < 16 ? (packed[j] & 0x0F) : (packed[j - 16] >> 4);
    switch (type) {
    case LLMK_Q4_1: return nibble;
    case LLMK_Q5_0:
    case LLMK_Q5_1: {
        uint32_t bits;
        memcpy(&bits, block + llmk_block_bytes(type) - 20, 4);
        const int value = nibble | (int)((bits >> j) & 1) << 4;
        return type == LLMK_Q5_0 ? value - 16 : value;
    }
    case LLMK_IQ4_NL_BLOCKWISE: return llmk_iq4_values[nibble];
    default: return nibble - 8;
    }
}

/// The types llama.cpp repacks and sums block by block (its integer total scaled into one sum).
static inline int llmk_is_blockwise(int type) { return type == LLMK_Q4_0_BLOCKWISE || type == LLMK_IQ4_NL_BLOCKWISE; }

static inline int llmk_has_integer_path(int type) {
    switch (type) {
    case LLMK_Q4_0: case LLMK_Q4_1: case LLMK_Q5_0: case LLMK_Q5_1: case LLMK_Q8_0: return 1;
    default: return 0;
    }
}

/// `level` capped at what this CPU has.
static inline int llmk_level(int level) {
    const int best = llmk_best_level();
    return level < best ? level : best;
}

// CALL(T) with T the weight type as a constant.
#define LLMK_FOR_TYPE(CALL)                                                                                     \
    switch (type) {                                                                                             \
    case LLMK_Q4_1: CALL(LLMK_Q4_1); break;                                                                     \
    case LLMK_Q4_0: CALL(LLMK_Q4_0); break;                                                                     \
    case LLMK_Q5_1: CALL(LLMK_Q5_1); break;                                                                     \
    case LLMK_Q5_0: CALL(LLMK_Q5_0); break;                                                                     \
    default: CALL(LLMK_Q8_0); break;                                                                            \
    }

// CALL(T, n) with n the tile's vector count as a constant, for count in 1...LLMK_TILE (4 or 8).
#define LLMK_FOR_COUNT(CALL, T)                                                                                 \
    switch (count) {                                                                                            \
    case 1: CALL(T, 1); break;                                                                                  \
    case 2: CALL(T, 2); break;                                                                                  \
    case 3: CALL(T, 3); break;                                                                                  \
    case 4: CALL(T, 4); break;                                                                                  \
    case 5: CALL(T, 5); break;                                                                                  \
    case 6: CALL(T, 6); break;                                                                                  \
    case 7: CALL(T, 7); break;                                                                                  \
    default: CALL(T, 8); break;                                                                                 \
    }

#endif

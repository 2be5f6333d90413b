// The layout the integer kernels read weights in (see llmk_interleave): rows in groups of eight,
// and for each 32-value block of a group first the eight rows' half-precision scales (then, for
// Q4_1 and Q5_1, their eight minimums), then the values as eight 32-byte registers, register i
// holding values 4i…4i+3 of row 0, then of row 1, …, of row 7. One register against four
// activation bytes broadcast gives the eight rows' partial sums side by side, so every vector of
// a batch reuses the unpacked weights and needs one conversion and one multiply-add per block
// for all eight rows. Q4 types keep their nibbles packed: register i's low nibbles are values
// 4i…4i+3 and its high nibbles values 16+4i…, so the four stored registers give all eight.
#ifndef LLMK_INTERLEAVED_H
#define LLMK_INTERLEAVED_H

#include "Common.h"

static inline int llmk_is_nibbles(int type) { return type == LLMK_Q4_0 || type == LLMK_Q4_1; }

static inline int llmk_header_bytes(int type) { return llmk_has_minimum(type) ? 32 : 16; }

/// Bytes of one block of one group of eight rows.
static inline int llmk_group_block_bytes(int type) {
    return llmk_header_bytes(type) + (llmk_is_nibbles(type) ? 128 : 256);
}

/// What is subtracted from each stored value to get the weight: Q4_0 and Q5_0 are stored
/// unsigned; Q8_0 is stored as it is, signed.
static inline int llmk_value_offset(int type) {
    switch (type) {
    case LLMK_Q4_0: return 8;
    case LLMK_Q5_0: return 16;
    default: return 0;
    }
}

#endif

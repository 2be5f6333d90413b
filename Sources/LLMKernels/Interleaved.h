// The layout the integer kernels read weights in (see llmk_interleave): rows in groups (of
// sixteen for Q4_1 and Q5_1, eight for the others), and for each 32-value block of a group first
// the rows' half-precision scales (then, for Q4_1 and Q5_1, their minimums), then the values as
// eight registers, register i holding values 4i…4i+3 of the group's first row, then of its
// second, and so on. One register against four activation bytes broadcast gives every row's
// partial sum side by side, so every vector of a batch reuses the unpacked weights and needs one
// conversion and one multiply-add per block for the whole group. A sixteen-row group fills
// 512-bit registers; 256-bit code takes it in two halves of eight rows (the first 32 bytes of each
// register, then the last). Q4 types keep their nibbles packed: register i's low nibbles are
// values 4i…4i+3 and its high nibbles values 16+4i…, so the four stored registers give all eight.
#ifndef LLMK_INTERLEAVED_H
#define LLMK_INTERLEAVED_H

#include "Common.h"

static inline int llmk_is_nibbles(int type) { return type == LLMK_Q4_0 || type == LLMK_Q4_1; }

/// Rows per group. Sixteen where a block's header is 64 bytes (Q4_1 and Q5_1: scales and
/// minimums), so each 512-bit register of values lies on one cache line: on AMD's Zen 4, 512-bit
/// byte products take less time per product than 256-bit ones. Eight for the others: their
/// 32-byte headers would put half of the 512-bit loads across two lines, and for Q8_0 the evidence
/// was mixed, so they keep their layout. (Figures: docs/benchmarks.md.)
static inline int llmk_group_rows(int type) { return llmk_has_minimum(type) ? 16 : 8; }

/// Bytes of a block's header: the group's scales, and its minimums where the type has them.
static inline int llmk_header_bytes(int type) { return (llmk_has_minimum(type) ? 4 : 2) * llmk_group_rows(type); }

/// Where a block's minimums start.
static inline int llmk_minimums_at(int type) { return 2 * llmk_group_rows(type); }

/// Bytes of one stored value register: four values of each row of the group.
static inline int llmk_register_bytes(int type) { return 4 * llmk_group_rows(type); }

/// Bytes of one block of one group of rows.
static inline int llmk_group_block_bytes(int type) {
    return llmk_header_bytes(type) + (llmk_is_nibbles(type) ? 4 : 8) * llmk_register_bytes(type);
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

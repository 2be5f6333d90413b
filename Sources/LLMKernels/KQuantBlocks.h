// How the K-quant and IQ4 blocks pack their scales and values (ggml's layouts), for the files
// that read them: the dequantizers and rewrites (KQuants.c) and the superblock products.
#ifndef LLMK_KQUANT_BLOCKS_H
#define LLMK_KQUANT_BLOCKS_H

#include <stdint.h>
#include <string.h>

/// IQ4_NL's and IQ4_XS's sixteen values.
static const int8_t llmk_iq4_values[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

/// The 6-bit scale and minimum of 32-value group j of a Q4_K or Q5_K block, from its 12 packed
/// bytes `q` (ggml's get_scale_min_k4).
static inline void llmk_scale_min_k4(int j, const uint8_t *q, int *scale, int *minimum) {
    if (j < 4) {
        *scale = q[j] & 63;
        *minimum = q[j + 4] & 63;
    } else {
        *scale = (q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4);
        *minimum = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

// Q3_K's sixteen 6-bit scales, each less 32.
static inline void llmk_q3_K_scales(const uint8_t *packed, int8_t *scales) {
    uint32_t aux[4];
    memcpy(aux, packed, 12);
    const uint32_t kmask1 = 0x03030303, kmask2 = 0x0f0f0f0f, tmp = aux[2];
    aux[2] = ((aux[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
    aux[3] = ((aux[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
    aux[0] = (aux[0] & kmask2) | (((tmp >> 0) & kmask1) << 4);
    aux[1] = (aux[1] & kmask2) | (((tmp >> 2) & kmask1) << 4);
    memcpy(scales, aux, 16);
    for (int i = 0; i < 16; i++) scales[i] = (int8_t)(scales[i] - 32);
}

// Q3_K's 256 small integers (−4…3), in order.
static inline void llmk_q3_K_values(const uint8_t *block, int8_t *values) {
    const uint8_t *hm = block, *q = block + 32;
    uint8_t m = 1;
    for (int n = 0; n < 256; n += 128) {
        int shift = 0;
        for (int j = 0; j < 4; j++) {
            for (int l = 0; l < 32; l++) {
                *values++ = (int8_t)(((q[l] >> shift) & 3) - ((hm[l] & m) ? 0 : 4));
            }
            shift += 2;
            m <<= 1;
        }
        q += 32;
    }
}

// IQ4_XS's 6-bit scale of 32-value group `group`, less 32.
static inline int llmk_iq4_xs_scale(const uint8_t *block, int group) {
    uint16_t high;
    memcpy(&high, block + 2, 2);
    return (((block[4 + group / 2] >> 4 * (group % 2)) & 0xF) | (((high >> 2 * group) & 3) << 4)) - 32;
}

#endif

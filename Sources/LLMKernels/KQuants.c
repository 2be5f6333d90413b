// K-quant and IQ4 weights for the integer kernels. Their 256-value blocks carry a scale (and a
// minimum) per 16 or 32 values under a block scale; the integer kernels take 32-value blocks with
// one half-precision scale (and minimum). So at load each row is rewritten into the nearest such
// type: Q4_K and Q5_K into Q4_1 and Q5_1 (each 32 values' scale d·sc and minimum dmin·m rounded
// to half: the only change, ≤ 2⁻¹² of a scale), IQ4_NL and IQ4_XS into Q8_0 (their values are
// signed bytes of a table, exactly), Q3_K into Q8_0 (scale d, bytes sc·q: exact but where a
// product is 128), and Q2_K and Q6_K — whose two scales per 32, or 13-bit products, a byte cannot
// hold — into Q8_0 requantized from their values as ggml quantizes Q8_0 (within half a step of
// 1/127 of each 32 values' largest). The dequantizers follow ggml's reference formulas.

#include "LLMKernels.h"

#include <math.h>
#include <string.h>

#include "Common.h"
#include "Half.h"
#include "KQuantBlocks.h"

static void dequantize_q2_K(const uint8_t *block, float *y) {
    const uint8_t *scales = block, *q = block + 16;
    const float d = llmk_half_at(block + 80), dmin = llmk_half_at(block + 82);
    int is = 0;
    for (int n = 0; n < 256; n += 128) {
        int shift = 0;
        for (int j = 0; j < 4; j++) {
            for (int half = 0; half < 2; half++) {
                const uint8_t sc = scales[is++];
                const float dl = d * (float)(sc & 0xF), ml = dmin * (float)(sc >> 4);
                for (int l = 0; l < 16; l++) *y++ = dl * (float)((q[l + 16 * half] >> shift) & 3) - ml;
            }
            shift += 2;
        }
        q += 32;
    }
}

static void dequantize_q3_K(const uint8_t *block, float *y) {
    int8_t scales[16], values[256];
    llmk_q3_K_scales(block + 96, scales);
    llmk_q3_K_values(block, values);
    const float d = llmk_half_at(block + 108);
    for (int i = 0; i < 256; i++) y[i] = d * (float)scales[i / 16] * (float)values[i];
}

static void dequantize_q5_K(const uint8_t *block, float *y) {
    const float d = llmk_half_at(block), dmin = llmk_half_at(block + 2);
    const uint8_t *scales = block + 4, *qh = block + 16, *ql = block + 48;
    uint8_t u1 = 1, u2 = 2;
    for (int j = 0, is = 0; j < 256; j += 64, is += 2) {
        int sc, m;
        llmk_scale_min_k4(is, scales, &sc, &m);
        const float d1 = d * (float)sc, m1 = dmin * (float)m;
        llmk_scale_min_k4(is + 1, scales, &sc, &m);
        const float d2 = d * (float)sc, m2 = dmin * (float)m;
        for (int l = 0; l < 32; l++) *y++ = d1 * (float)((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
        for (int l = 0; l < 32; l++) *y++ = d2 * (float)((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
        ql += 32;
        u1 <<= 2;
        u2 <<= 2;
    }
}

static void dequantize_iq4_nl(const uint8_t *block, float *y) {
    const float d = llmk_half_at(block);
    for (int j = 0; j < 16; j++) {
        y[j] = d * (float)llmk_iq4_values[block[2 + j] & 0xF];
        y[j + 16] = d * (float)llmk_iq4_values[block[2 + j] >> 4];
    }
}

static void dequantize_iq4_xs(const uint8_t *block, float *y) {
    const float d = llmk_half_at(block);
    const uint8_t *qs = block + 8;
    for (int group = 0; group < 8; group++, qs += 16, y += 32) {
        const float dl = d * (float)llmk_iq4_xs_scale(block, group);
        for (int j = 0; j < 16; j++) {
            y[j] = dl * (float)llmk_iq4_values[qs[j] & 0xF];
            y[j + 16] = dl * (float)llmk_iq4_values[qs[j] >> 4];
        }
    }
}

int llmk_block_values(int type) {
    switch (type) {
    case LLMK_Q2_K: case LLMK_Q3_K: case LLMK_Q4_K: case LLMK_Q5_K: case LLMK_Q6_K: case LLMK_IQ4_XS: return 256;
    case LLMK_IQ4_NL: return 32;
    default: return 0;
    }
}

static int block_size(int type) {
    switch (type) {
    case LLMK_Q2_K: return 84;
    case LLMK_Q3_K: return 110;
    case LLMK_Q4_K: return 144;
    case LLMK_Q5_K: return 176;
    case LLMK_Q6_K: return 210;
    case LLMK_IQ4_NL: return 18;
    case LLMK_IQ4_XS: return 136;
    default: return 0;
    }
}

int llmk_dequantize_row(int type, const void *row, int length, float *output) {
    const int values = llmk_block_values(type), size = block_size(type);
    if (values == 0 || length % values != 0) return 0;
    for (int b = 0; b < length / values; b++) {
        const uint8_t *block = (const uint8_t *)row + (size_t)b * size;
        float *y = output + (size_t)b * values;
        switch (type) {
        case LLMK_Q2_K: dequantize_q2_K(block, y); break;
        case LLMK_Q3_K: dequantize_q3_K(block, y); break;
        case LLMK_Q4_K: llmk_dequantize_q4_K(block, y); break;
        case LLMK_Q5_K: dequantize_q5_K(block, y); break;
        case LLMK_Q6_K: llmk_dequantize_q6_K(block, y); break;
        case LLMK_IQ4_NL: dequantize_iq4_nl(block, y); break;
        default: dequantize_iq4_xs(block, y); break;
        }
    }
    return 1;
}

int llmk_requantized_type(int type) {
    switch (type) {
    case LLMK_Q4_K: return LLMK_Q4_1;
    case LLMK_Q5_K: return LLMK_Q5_1;
    case LLMK_Q2_K: case LLMK_Q3_K: case LLMK_Q6_K: case LLMK_IQ4_NL: case LLMK_IQ4_XS: return LLMK_Q8_0;
    default: return type;
    }
}

// 32 values as a Q8_0 block: d = largest / 127 in half precision, as ggml's quantize_row_q8_0_ref,
// but each value rounded to the nearest multiple of the half-precision d the block keeps (ggml
// divides by the unrounded one), so no value is off by more than half a step.
static void quantize_q8_0(const float *x, uint8_t *out) {
    float largest = 0;
    for (int j = 0; j < 32; j++) largest = fmaxf(largest, fabsf(x[j]));
    const uint16_t half = llmk_float_to_half(largest / 127.0f);
    const float d = llmk_half_to_float(half), inverse = d != 0 ? 1.0f / d : 0.0f;
    memcpy(out, &half, 2);
    for (int j = 0; j < 32; j++) out[2 + j] = (uint8_t)(int8_t)fmaxf(-127.0f, fminf(127.0f, roundf(x[j] * inverse)));
}

static void store_half(uint8_t *out, float value) {
    const uint16_t half = llmk_float_to_half(value);
    memcpy(out, &half, 2);
}

// One 256-value (IQ4_NL: 32-value) block rewritten as 32-value blocks of the requantized type.
static void requantize_block(int type, const uint8_t *block, uint8_t *out) {
    switch (type) {
    case LLMK_Q4_K:
    case LLMK_Q5_K: {
        // Group j's values are the low nibbles of its pair's 32 bytes (even j) or the high ones,
        // plus (Q5_K) bit j of each of the 32 high-bit bytes.
        const int five = type == LLMK_Q5_K;
        const float d = llmk_half_at(block), dmin = llmk_half_at(block + 2);
        const uint8_t *qs = block + (five ? 48 : 16), *qh = block + 16;
        for (int j = 0; j < 8; j++, out += five ? 24 : 20) {
            int sc, m;
            llmk_scale_min_k4(j, block + 4, &sc, &m);
            store_half(out, d * (float)sc);
            store_half(out + 2, -(dmin * (float)m));
            uint8_t v[32];
            for (int l = 0; l < 32; l++) {
                const uint8_t byte = qs[32 * (j / 2) + l];
                v[l] = (uint8_t)((j % 2 ? byte >> 4 : byte & 0xF) | (five && (qh[l] >> j & 1) ? 16 : 0));
            }
            uint8_t *nibbles = out + (five ? 8 : 4);
            if (five) {
                uint32_t high = 0;
                for (int l = 0; l < 32; l++) high |= (uint32_t)(v[l] >> 4) << l;
                memcpy(out + 4, &high, 4);
            }
            for (int k = 0; k < 16; k++) nibbles[k] = (uint8_t)((v[k] & 0xF) | (v[k + 16] & 0xF) << 4);
        }
        return;
    }
    case LLMK_IQ4_NL:
        memcpy(out, block, 2);
        for (int j = 0; j < 16; j++) {
            out[2 + j] = (uint8_t)llmk_iq4_values[block[2 + j] & 0xF];
            out[18 + j] = (uint8_t)llmk_iq4_values[block[2 + j] >> 4];
        }
        return;
    case LLMK_IQ4_XS: {
        const float d = llmk_half_at(block);
        for (int group = 0; group < 8; group++, out += 34) {
            store_half(out, d * (float)llmk_iq4_xs_scale(block, group));
            const uint8_t *qs = block + 8 + 16 * group;
            for (int j = 0; j < 16; j++) {
                out[2 + j] = (uint8_t)llmk_iq4_values[qs[j] & 0xF];
                out[18 + j] = (uint8_t)llmk_iq4_values[qs[j] >> 4];
            }
        }
        return;
    }
    case LLMK_Q3_K: {
        int8_t scales[16], values[256];
        llmk_q3_K_scales(block + 96, scales);
        llmk_q3_K_values(block, values);
        float y[256];
        dequantize_q3_K(block, y);
        for (int group = 0; group < 8; group++, out += 34) {
            int exact = 1;
            for (int l = 0; l < 32; l++) exact &= scales[(32 * group + l) / 16] * values[32 * group + l] <= 127;
            if (!exact) {
                quantize_q8_0(y + 32 * group, out);
                continue;
            }
            memcpy(out, block + 108, 2);
            for (int l = 0; l < 32; l++) out[2 + l] = (uint8_t)(int8_t)(scales[(32 * group + l) / 16] * values[32 * group + l]);
        }
        return;
    }
    default: {
        float y[256];
        llmk_dequantize_row(type, block, 256, y);
        for (int group = 0; group < 8; group++) quantize_q8_0(y + 32 * group, out + 34 * group);
        return;
    }
    }
}

int llmk_requantize(int type, const void *weights, size_t row_bytes, int rows, int length, void *output) {
    const int values = llmk_block_values(type), target = llmk_requantized_type(type);
    if (values == 0 || length % values != 0) return 0;
    const size_t out_row = (size_t)(length / 32) * (size_t)llmk_block_bytes(target);
    const size_t out_block = (size_t)(values / 32) * (size_t)llmk_block_bytes(target);
    for (int r = 0; r < rows; r++) {
        const uint8_t *row = (const uint8_t *)weights + (size_t)r * row_bytes;
        uint8_t *out = (uint8_t *)output + (size_t)r * out_row;
        for (int b = 0; b < length / values; b++) requantize_block(type, row + (size_t)b * block_size(type), out + b * out_block);
    }
    return 1;
}

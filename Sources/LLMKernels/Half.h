// Half-precision conversions in plain C, rounding as F16C does, for the portable paths.
#ifndef LLMK_HALF_H
#define LLMK_HALF_H

#include <stdint.h>
#include <string.h>

static inline float llmk_half_to_float(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    const uint32_t exponent = (h >> 10) & 0x1F;
    const uint32_t mantissa = h & 0x3FF;
    uint32_t bits;
    if (exponent == 0) {
        if (mantissa == 0) {
            bits = sign;
        } else {
            int shift = 0;
            uint32_t m = mantissa;
            while (!(m & 0x400)) { m <<= 1; shift++; }
            bits = sign | ((uint32_t)(113 - shift) << 23) | ((m & 0x3FF) << 13);
        }
    } else if (exponent == 31) {
        bits = sign | 0x7F800000 | (mantissa << 13);
    } else {
        bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/// The half stored (little-endian, maybe unaligned) at `pointer`, as a float.
static inline float llmk_half_at(const uint8_t *pointer) {
    uint16_t h;
    memcpy(&h, pointer, 2);
    return llmk_half_to_float(h);
}

static inline uint16_t llmk_float_to_half(float f) {
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    const uint32_t sign = (x >> 16) & 0x8000;
    const uint32_t magnitude = x & 0x7FFFFFFF;
    if (magnitude >= 0x7F800000) return (uint16_t)(sign | 0x7C00 | (magnitude > 0x7F800000 ? 0x200 : 0));
    if (magnitude >= 0x477FF000) return (uint16_t)(sign | 0x7C00);
    if (magnitude < 0x38800000) {
        if (magnitude < 0x33000000) return (uint16_t)sign;
        // A half subnormal counts units of 2^-24: the 24-bit significand shifted right.
        const uint32_t shift = 126 - (magnitude >> 23);
        const uint32_t mantissa = (magnitude & 0x7FFFFF) | 0x800000;
        uint32_t half = mantissa >> shift;
        const uint32_t rest = mantissa & ((1u << shift) - 1);
        const uint32_t midpoint = 1u << (shift - 1);
        if (rest > midpoint || (rest == midpoint && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = (magnitude - 0x38000000) >> 13;
    const uint32_t rest = magnitude & 0x1FFF;
    if (rest > 0x1000 || (rest == 0x1000 && (half & 1))) half++;
    return (uint16_t)(sign | half);
}

#endif

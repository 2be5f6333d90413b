#include "LLMKernels.h"

#include <math.h>

#include "Common.h"
#include "Half.h"

static inline float round_through_half(float f) { return llmk_half_to_float(llmk_float_to_half(f)); }

// One block of n ≤ 32 values (n < 32 only for the end of a vector that is not whole blocks).
static void quantize_block(const float *x, int n, int8_t *values, float *scale, float *sum, int32_t *total) {
    float maximum = 0;
    for (int j = 0; j < n; j++) maximum = fmaxf(maximum, fabsf(x[j]));
    const float d = maximum / 127;
    const float inverse = maximum != 0 ? 127 / maximum : 0;
    int t = 0;
    for (int j = 0; j < n; j++) {
        const int q = (int)nearbyintf(x[j] * inverse);
        values[j] = (int8_t)q;
        t += q;
    }
    *scale = round_through_half(d);
    *sum = round_through_half(d * (float)t);
    *total = t;
}

static void quantize_portable(const float *input, int count, int8_t *values, float *scales, float *sums,
                              int32_t *totals) {
    for (int block = 0; 32 * block < count; block++) {
        const int n = count - 32 * block < 32 ? count - 32 * block : 32;
        quantize_block(input + 32 * block, n, values + 32 * block, scales + block, sums + block, totals + block);
    }
}

#ifdef LLMK_X86
#define LLMK_SUFFIX(name) name##_avx2
#define LLMK_TARGET __attribute__((target("avx2,fma,f16c")))
#include "QuantizeX86.inc"
#undef LLMK_SUFFIX
#undef LLMK_TARGET
#define LLMK_SUFFIX(name) name##_avx512
#define LLMK_TARGET __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni")))
#define LLMK_WIDE 1
#include "QuantizeX86.inc"
#undef LLMK_SUFFIX
#undef LLMK_TARGET
#undef LLMK_WIDE
#endif

void llmk_quantize(const float *input, int count, int8_t *values, float *scales, float *sums, int32_t *totals) {
    llmk_quantize_rows_at_level(llmk_best_level(), input, 1, count, count, values, scales, sums, totals);
}

void llmk_quantize_at_level(int level, const float *input, int count, int8_t *values, float *scales, float *sums,
                            int32_t *totals) {
    llmk_quantize_rows_at_level(level, input, 1, count, count, values, scales, sums, totals);
}

void llmk_quantize_rows(const float *input, int rows, int stride, int count, int8_t *values, float *scales, float *sums,
                        int32_t *totals) {
    llmk_quantize_rows_at_level(llmk_best_level(), input, rows, stride, count, values, scales, sums, totals);
}

void llmk_quantize_rows_at_level(int level, const float *input, int rows, int stride, int count, int8_t *values,
                                 float *scales, float *sums, int32_t *totals) {
    const int whole = count / 32;
#ifdef LLMK_X86
    if (llmk_level(level) >= 2) {
        quantize_rows_avx512(input, rows, stride, whole, values, scales, sums, totals);
    } else if (llmk_level(level) == 1) {
        for (int r = 0; r < rows; r++) {
            const size_t at = (size_t)r * stride;
            quantize_avx2(input + at, whole * 32, values + at, scales + at / 32, sums + at / 32, totals + at / 32);
        }
    }
    if (llmk_level(level) >= 1) {
        if (count % 32) {
            for (int r = 0; r < rows; r++) {
                const size_t at = (size_t)r * stride + 32 * (size_t)whole;
                quantize_block(input + at, count % 32, values + at, scales + at / 32, sums + at / 32, totals + at / 32);
            }
        }
        return;
    }
#endif
    (void)whole;
    for (int r = 0; r < rows; r++) {
        const size_t at = (size_t)r * stride;
        quantize_portable(input + at, count, values + at, scales + at / 32, sums + at / 32, totals + at / 32);
    }
}

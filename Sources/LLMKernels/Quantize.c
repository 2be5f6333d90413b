#include "LLMKernels.h"

#include <math.h>

#include "Common.h"
#include "Half.h"

static inline float round_through_half(float f) { return llmk_half_to_float(llmk_float_to_half(f)); }

static void quantize_portable(const float *input, int count, int8_t *values, float *scales, float *sums,
                              int32_t *totals) {
    for (int block = 0; block < count / 32; block++) {
        const float *x = input + block * 32;
        float maximum = 0;
        for (int j = 0; j < 32; j++) maximum = fmaxf(maximum, fabsf(x[j]));
        const float scale = maximum / 127;
        const float inverse = maximum != 0 ? 127 / maximum : 0;
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            const int q = (int)nearbyintf(x[j] * inverse);
            values[block * 32 + j] = (int8_t)q;
            sum += q;
        }
        scales[block] = round_through_half(scale);
        sums[block] = round_through_half(scale * (float)sum);
        totals[block] = sum;
    }
}

#ifdef LLMK_X86
#define LLMK_SUFFIX(name) name##_avx2
#define LLMK_TARGET __attribute__((target("avx2,fma,f16c")))
#include "QuantizeX86.inc"
#undef LLMK_SUFFIX
#undef LLMK_TARGET
#endif

void llmk_quantize(const float *input, int count, int8_t *values, float *scales, float *sums, int32_t *totals) {
    llmk_quantize_at_level(llmk_best_level(), input, count, values, scales, sums, totals);
}

void llmk_quantize_at_level(int level, const float *input, int count, int8_t *values, float *scales, float *sums,
                            int32_t *totals) {
#ifdef LLMK_X86
    if (llmk_level(level) >= 1) return quantize_avx2(input, count, values, scales, sums, totals);
#endif
    quantize_portable(input, count, values, scales, sums, totals);
}

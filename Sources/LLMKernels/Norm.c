// RMS normalization in the blockwise order: the squares added in eight double lanes side by side
// (element j into lane j % 8), the lanes combined in a fixed tree. Written once as plain C and
// inlined into a second copy compiled for AVX2, where the lanes become two registers of doubles;
// the same operations in the same order either way, so the same bits. (In Swift, without AVX2,
// the norms took ~1% of an eight-sequence decode step.)

#include "LLMKernels.h"

#include <math.h>

#if defined(__x86_64__) || defined(__i386__)
#define LLMK_X86 1
#endif

static inline __attribute__((always_inline)) void rms_norm(const float *x, int length, const float *weight,
                                                           float epsilon, float *output) {
    double lanes[8] = {0};
    int j = 0;
    for (; j + 8 <= length; j += 8) {
        for (int l = 0; l < 8; l++) lanes[l] += (double)(x[j + l] * x[j + l]);
    }
    double sum = ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6])) + ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7]));
    for (; j < length; j++) sum += (double)(x[j] * x[j]);
    const float scale = 1.0f / sqrtf((float)(sum / (double)length) + epsilon);
    for (int i = 0; i < length; i++) output[i] = x[i] * scale * weight[i];
}

static void rms_norm_portable(const float *x, int length, const float *weight, float epsilon, float *output) {
    rms_norm(x, length, weight, epsilon, output);
}

#ifdef LLMK_X86
__attribute__((target("avx2,fma,f16c"))) static void rms_norm_avx2(const float *x, int length, const float *weight,
                                                                   float epsilon, float *output) {
    rms_norm(x, length, weight, epsilon, output);
}
#endif

void llmk_rms_norm(const float *x, int length, const float *weight, float epsilon, float *output) {
    llmk_rms_norm_at_level(llmk_best_level(), x, length, weight, epsilon, output);
}

void llmk_rms_norm_at_level(int level, const float *x, int length, const float *weight, float epsilon, float *output) {
#ifdef LLMK_X86
    if (level > 0 && llmk_best_level() > 0) return rms_norm_avx2(x, length, weight, epsilon, output);
#endif
    (void)level;
    rms_norm_portable(x, length, weight, epsilon, output);
}

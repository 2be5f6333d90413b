// The diffusion engine's products on one thread, per instruction-set path, on the shape of SD 1.5's
// first 3×3 convolutions at 512² (320 outputs, 64×64 pixels, 320·9 inputs): best of 3. The float
// kernel (the exact mode), the BF16 kernel on BF16 weights (the fast mode), and the BF16
// convolution reading the feature map itself. `make bench-gemm`. The portable paths (no vectors)
// are slow by design and left out unless PORTABLE=1.
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "LLMKernels.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(void) {
    const int m = 320, n = 4096, k = 2880;
    float *a = malloc(sizeof(float) * m * k), *b = malloc(sizeof(float) * n * k), *c = malloc(sizeof(float) * m * n);
    for (long i = 0; i < (long)m * k; i++) a[i] = (float)(i % 7) * 0.1f;
    for (long i = 0; i < (long)n * k; i++) b[i] = (float)(i % 5) * 0.1f;
    for (int level = getenv("PORTABLE") ? 0 : 1; level <= llmk_best_level(); level++) {
        double best = 1e9;
        for (int run = 0; run < 3; run++) {
            const double start = now();
            llmk_sgemm_at_level(level, 1, m, n, k, a, k, b, k, c, n, 0);
            const double elapsed = now() - start;
            if (elapsed < best) best = elapsed;
        }
        printf("float %-12s %.3f s  %6.1f GFLOP/s\n", level == 0 ? "portable" : level == 1 ? "AVX2" : "AVX-512", best,
               2.0 * m * n * k / best / 1e9);
    }
    uint16_t *weights = malloc(sizeof(uint16_t) * m * k);
    llmk_round_bf16(a, weights, (size_t)m * k);
    const llmk_conv_input input = {b, 320, 64, 64, 3, 1, 1, 64, 64};
    for (int level = getenv("PORTABLE") ? 0 : 1; level <= llmk_bf16_level(); level++) {
        const char *name = level == 0 ? "portable" : level == 1 ? "AVX2" : "AVX-512 BF16";
        double best = 1e9, best_conv = 1e9;
        for (int run = 0; run < 3; run++) {
            double start = now();
            llmk_gemm_bf16_at_level(level, LLMK_GEMM_A_BF16 | LLMK_GEMM_B_TRANSPOSED, m, n, k, weights, k, b, k, c, n);
            const double product = now() - start;
            start = now();
            llmk_conv_bf16_at_level(level, LLMK_GEMM_A_BF16, m, weights, &input, 0, n, c);
            const double convolution = now() - start;
            if (product < best) best = product;
            if (convolution < best_conv) best_conv = convolution;
        }
        printf("bf16  %-12s %.3f s  %6.1f GFLOP/s   convolution from the map %.3f s  %6.1f GFLOP/s\n", name, best,
               2.0 * m * n * k / best / 1e9, best_conv, 2.0 * m * n * k / best_conv / 1e9);
    }
    free(weights);
    free(a);
    free(b);
    free(c);
    return 0;
}

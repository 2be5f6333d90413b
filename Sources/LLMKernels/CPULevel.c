#include "LLMKernels.h"

#include <stdlib.h>

#include "Common.h"

#ifdef LLMK_X86
// 0: portable, 1: AVX2, 2: AVX-512 VNNI.
static int x86_level(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        const int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
        const int vnni = avx2 && __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl") &&
                         __builtin_cpu_supports("avx512bw");
        const char *forced = getenv("LLMK_ISA");  // for benchmarks and tests of the other paths
        cached = vnni ? 2 : avx2 ? 1 : 0;
        if (forced && forced[0] >= '0' && forced[0] < '0' + cached) cached = forced[0] - '0';
    }
    return cached;
}
#endif

int llmk_best_level(void) {
#ifdef LLMK_X86
    return x86_level();
#else
    return 0;
#endif
}

void llmk_cpu_relax(void) {
#ifdef LLMK_X86
    _mm_pause();
#endif
}

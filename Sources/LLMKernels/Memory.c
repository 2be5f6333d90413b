#include "LLMKernels.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

void llmk_keep_large_blocks(void) {
#ifdef __GLIBC__
    // glibc maps blocks above its threshold afresh each time and unmaps them when freed, so the
    // kernel zeroes every page again; below it, freed blocks are reused from the heap.
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

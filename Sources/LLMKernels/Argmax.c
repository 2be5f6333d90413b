// The greedy sampler's scan over a vocabulary's logits, once per token per sequence.
#include "LLMKernels.h"

#include <math.h>

// Sixteen lanes, each keeping the largest value it has seen and where it first saw it: written
// without branches so the compiler turns the lanes into vector compares and blends.
#define LANES 16

int llmk_argmax(const float *values, int count) {
    float best[LANES];
    int where[LANES];
    for (int k = 0; k < LANES; k++) {
        best[k] = -INFINITY;
        where[k] = 0;
    }
    int i = 0;
    for (; i + LANES <= count; i += LANES) {
        for (int k = 0; k < LANES; k++) {
            const int larger = values[i + k] > best[k];
            best[k] = larger ? values[i + k] : best[k];
            where[k] = larger ? i + k : where[k];
        }
    }
    for (; i < count; i++) {
        if (values[i] > best[0]) {
            best[0] = values[i];
            where[0] = i;
        }
    }
    // The largest of the lanes; of equal ones, the first index, as a scan from the start finds.
    int answer = 0;
    float largest = -INFINITY;
    for (int k = 0; k < LANES; k++) {
        if (best[k] > largest || (best[k] == largest && where[k] < answer)) {
            largest = best[k];
            answer = where[k];
        }
    }
    return answer;
}

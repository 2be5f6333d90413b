#include "LLMKernels.h"
#include <math.h>
#include <stdlib.h>

// AnimateDiff's attention across frames: sequences as short as the animation (8–32), so no tiling;
// the keys of one run and head are transposed into a small block so that the scores of a query
// against every key come from independent lanes (each a plain sum over the head's width, in
// order), and the weighted values are added row by row. Nothing depends on the vector width the
// compiler picks.
void llmk_frames_attention(const float *queries, const float *keys, const float *values, int frames, int width,
                           int heads, float scale, int first_run, int run_count, float *out) {
    const int head_width = width / heads;
    float *transposed = malloc(sizeof(float) * (size_t)head_width * frames);
    float *scores = malloc(sizeof(float) * (size_t)frames);
    for (int run = first_run; run < first_run + run_count; run++) {
        const size_t base = (size_t)run * frames * width;
        for (int h = 0; h < heads; h++) {
            const size_t offset = base + (size_t)h * head_width;
            for (int j = 0; j < frames; j++) {
                const float *key = keys + offset + (size_t)j * width;
                for (int d = 0; d < head_width; d++) transposed[(size_t)d * frames + j] = key[d];
            }
            for (int i = 0; i < frames; i++) {
                const float *query = queries + offset + (size_t)i * width;
                for (int j = 0; j < frames; j++) scores[j] = 0.0f;
                for (int d = 0; d < head_width; d++) {
                    const float q = query[d];
                    const float *column = transposed + (size_t)d * frames;
                    for (int j = 0; j < frames; j++) scores[j] += q * column[j];
                }
                float largest = -INFINITY;
                for (int j = 0; j < frames; j++) {
                    scores[j] *= scale;
                    largest = scores[j] > largest ? scores[j] : largest;
                }
                float sum = 0.0f;
                for (int j = 0; j < frames; j++) {
                    scores[j] = expf(scores[j] - largest);
                    sum += scores[j];
                }
                float *result = out + offset + (size_t)i * width;
                for (int d = 0; d < head_width; d++) result[d] = 0.0f;
                for (int j = 0; j < frames; j++) {
                    const float weight = scores[j] / sum;
                    const float *value = values + offset + (size_t)j * width;
                    for (int d = 0; d < head_width; d++) result[d] += weight * value[d];
                }
            }
        }
    }
    free(transposed);
    free(scores);
}

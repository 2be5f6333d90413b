// GELU (tanh form) as llama.cpp's CPU backend applies it in a gated feed-forward: the input rounded
// to half precision indexes a table of GELU over every half value, itself rounded to half; inputs
// at or beyond ±10 skip the table. One scalar loop on every path: a lookup per value is cheap next
// to the products around it, and a gather would give the same bits.

#include "LLMKernels.h"
#include "Half.h"

#include <math.h>
#include <pthread.h>

static uint16_t gelu_table[1 << 16];
static pthread_once_t gelu_table_once = PTHREAD_ONCE_INIT;

static void fill_gelu_table(void) {
    for (int i = 0; i < (1 << 16); i++) {
        const float x = llmk_half_to_float((uint16_t)i);
        // 0.5x(1 + tanh(√(2/π)·x·(1 + 0.044715x²))), the inner sum one fused multiply-add, as a
        // compiler contracts ggml's expression for a processor with FMA.
        const float inner = fmaf(0.044715f * x, x, 1.0f);
        const float y = 0.5f * x * (1.0f + tanhf(0.79788456080286535587989211986876f * x * inner));
        gelu_table[i] = llmk_float_to_half(y);
    }
}

void llmk_geglu_tanh(float *gate, const float *up, int begin, int end) {
    pthread_once(&gelu_table_once, fill_gelu_table);
    for (int i = begin; i < end; i++) {
        const float x = gate[i];
        if (x <= -10.0f) {
            gate[i] = 0.0f;
        } else if (x >= 10.0f) {
            gate[i] = x * up[i];
        } else {
            gate[i] = llmk_half_to_float(gelu_table[llmk_float_to_half(x)]) * up[i];
        }
    }
}

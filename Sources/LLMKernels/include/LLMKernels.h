// The engine's innermost loops: integer dot products of quantized weight rows with 8-bit
// activations (and float ones for the types without an integer path yet). Everything around them (the model, threads, sampling) is Swift; these are in C
// because they need AVX2's byte multiply-adds, chosen at run time with a portable fallback.
#ifndef LLM_KERNELS_H
#define LLM_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Weight encodings, numbered as GGML numbers them.
enum {
    LLMK_F32 = 0,
    LLMK_F16 = 1,
    LLMK_Q4_0 = 2,
    LLMK_Q4_1 = 3,
    LLMK_Q5_0 = 6,
    LLMK_Q5_1 = 7,
    LLMK_Q8_0 = 8,
    LLMK_Q4_K = 12,
    LLMK_Q6_K = 14,
    /// Q4_0 summed as llama.cpp sums the Q4_0 matrices it repacks (those with a multiple of 8
    /// rows, on AVX2): each block's whole integer dot product, scaled and added in turn.
    LLMK_Q4_0_BLOCKWISE = 1002,
};

/// Activations quantized in blocks of 32: per block a scale `d` and `s` = d·Σq (both rounded
/// through half precision, as llama.cpp stores them), and 32 signed bytes.
typedef struct {
    const int8_t *values;
    const float *scales;
    const float *sums;
} llmk_activations;

/// Quantizes `count` floats (a multiple of 32) to nearest, ties to even.
void llmk_quantize(const float *input, int count, int8_t *values, float *scales, float *sums);

/// `llmk_quantize` on the path of `level` (as for `llmk_matmul_at_level`), for tests.
void llmk_quantize_at_level(int level, const float *input, int count, int8_t *values, float *scales, float *sums);

/// output[b * output_stride + r] = row r · activation b, for rows [row_begin, row_end) and b in
/// [0, batch). Activation b starts `b * blocks` blocks into `activations`. Returns 0 when
/// `type` has no fast path here.
int llmk_matmul(int type, const void *weights, size_t row_bytes, int blocks, llmk_activations activations,
                int batch, float *output, int output_stride, int row_begin, int row_end);

/// The instruction set the kernels use on this CPU: 0 portable, 1 AVX2, 2 AVX-512 VNNI.
/// LLMK_ISA=<level> in the environment asks for a lower one.
int llmk_best_level(void);

/// `llmk_matmul` on the path of `level` (at most the best one): for tests that check every
/// path gives the same numbers.
int llmk_matmul_at_level(int level, int type, const void *weights, size_t row_bytes, int blocks,
                         llmk_activations activations, int batch, float *output, int output_stride, int row_begin,
                         int row_end);

/// The same product for weights without an integer path (F32, F16, Q4_K, Q6_K): each row turned
/// into floats once, then dotted with the float vectors of `input` (each `length` long) in sixteen
/// fused lanes. `level` as for `llmk_matmul_at_level`, or -1 for the best. Returns 0 for other types.
int llmk_matmul_float_at_level(int level, int type, const void *weights, size_t row_bytes, int length,
                               const float *input, int batch, float *output, int output_stride, int row_begin,
                               int row_end);

/// One 256-value block of Q4_K or Q6_K as floats, by ggml's reference formulas.
void llmk_dequantize_q4_K(const uint8_t *block, float *output);
void llmk_dequantize_q6_K(const uint8_t *block, float *output);

/// A hint to the CPU inside spin-wait loops.
void llmk_cpu_relax(void);

/// Converts `count` floats to half precision (round to nearest even).
void llmk_to_half(const float *input, uint16_t *output, int count);

/// One head's attention for one query over `count` cached positions (keys and values each
/// `length` halves, `stride` halves apart), in llama.cpp's arithmetic: scores = Q·K × scale,
/// softmax, output = Σ weight · V. `scores` needs room for `count` floats.
void llmk_attention(const float *query, const uint16_t *keys, const uint16_t *values, int stride, int length,
                    int count, float scale, float *scores, float *output);

/// gate[i] = silu(gate[i]) × up[i] for i in [begin, end) of a row `total` long, in llama.cpp's
/// arithmetic (its vectorised exp, and libm's for the row's last total % 16).
void llmk_swiglu(float *gate, const float *up, int begin, int end, int total);

#endif

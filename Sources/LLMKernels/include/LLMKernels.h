// The engine's innermost loops: integer dot products of quantized weight rows with 8-bit
// activations (and float ones for the types without an integer path yet), and the parts of
// llama.cpp's arithmetic the engine reproduces exactly. Everything around them (the model,
// threads, sampling) is Swift; these are in C because they need AVX2's and AVX-512 VNNI's byte
// multiply-adds, chosen at run time with a portable fallback.
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
    LLMK_Q2_K = 10,
    LLMK_Q3_K = 11,
    LLMK_Q4_K = 12,
    LLMK_Q5_K = 13,
    LLMK_Q6_K = 14,
    LLMK_IQ4_NL = 20,
    LLMK_IQ4_XS = 23,
    /// Q4_0 summed as llama.cpp sums the Q4_0 matrices it repacks (those with a multiple of 8
    /// rows, on AVX2): each block's whole integer dot product, scaled and added in turn. For
    /// `llmk_matmul_lanes` only.
    LLMK_Q4_0_BLOCKWISE = 1002,
    /// IQ4_NL likewise (llama.cpp repacks those on AVX2 too and sums them as Q4_0's).
    LLMK_IQ4_NL_BLOCKWISE = 1020,
    /// Q4_K summed as llama.cpp sums the Q4_K matrices it repacks (those with a multiple of 8
    /// rows, on AVX2): for `llmk_matmul_superblocks` only.
    LLMK_Q4_K_REPACKED = 1012,
    /// Q2_K summed as llama.cpp sums the Q2_K matrices it repacks (a multiple of 8 rows, on
    /// AVX-512): for `llmk_matmul_superblocks` only.
    LLMK_Q2_K_REPACKED = 1010,
};

/// Activations quantized in blocks of 32: per block a scale `d`, `s` = d·Σq (both rounded
/// through half precision, as llama.cpp stores them), the integer total Σq, and 32 signed bytes.
typedef struct {
    const int8_t *values;
    const float *scales;
    const float *sums;
    const int32_t *totals;
} llmk_activations;

/// Quantizes `count` floats to nearest, ties to even, in blocks of 32 (the last one shorter where
/// `count` is not a multiple of 32: the KV cache's rows of heads narrower than 32).
void llmk_quantize(const float *input, int count, int8_t *values, float *scales, float *sums, int32_t *totals);

/// `llmk_quantize` on the path of `level` (as for `llmk_matmul_at_level`), for tests.
void llmk_quantize_at_level(int level, const float *input, int count, int8_t *values, float *scales, float *sums,
                            int32_t *totals);

/// `llmk_quantize` of `count` values of each of `rows` rows `stride` values apart (a multiple of
/// 32): row r from input + r·stride into values + r·stride and its blocks' scales, sums and totals
/// from index r·stride / 32.
void llmk_quantize_rows(const float *input, int rows, int stride, int count, int8_t *values, float *scales, float *sums,
                        int32_t *totals);

/// `llmk_quantize_rows` on the path of `level`, for tests.
void llmk_quantize_rows_at_level(int level, const float *input, int rows, int stride, int count, int8_t *values,
                                 float *scales, float *sums, int32_t *totals);

/// Bytes a `rows` × `blocks`·32 matrix of `type` takes rearranged for the integer kernels (rows
/// padded to a multiple of sixteen); 0 for types without an integer path (they go through floats).
size_t llmk_interleaved_size(int type, int rows, int blocks);

/// Rearranges GGML rows (`row_bytes` apart) of Q4_0, Q4_1, Q5_0, Q5_1 or Q8_0 into `output`
/// (`llmk_interleaved_size` bytes) for `llmk_matmul`. Returns 0 for other types.
int llmk_interleave(int type, const void *weights, size_t row_bytes, int rows, int blocks, void *output);

/// output[b * output_stride + r] = row r · activation b, for rows [row_begin, row_end) and b in
/// [0, batch), from weights rearranged by `llmk_interleave`. Activation b starts `b * blocks`
/// blocks into `activations`. `row_begin` must be a multiple of 16, and `row_end` too unless it
/// is the matrix's last row. Per (row, vector) the sum runs block by block — the block's exact integer dot
/// product times the two scales, fused into the running sum, then Q4_1's and Q5_1's minimum
/// term — so a vector's result does not depend on its batch, and every path gives the same bits.
/// Returns 0 when `type` has no integer path.
int llmk_matmul(int type, const void *interleaved, int blocks, llmk_activations activations, int batch, float *output,
                int output_stride, int row_begin, int row_end);

/// The same product in llama.cpp's summation order, from weights in GGML's own layout (rows
/// `row_bytes` apart, any row range): per (row, vector) eight lanes of four byte products per
/// block, each lane scaled and fused into its own sum, the lanes and the minimum terms added at
/// the end as ggml adds them. The results are llama.cpp's to the bit; about a third as fast on a
/// batch as `llmk_matmul`. Returns 0 for types without an integer path.
int llmk_matmul_lanes(int type, const void *weights, size_t row_bytes, int blocks, llmk_activations activations,
                      int batch, float *output, int output_stride, int row_begin, int row_end);

/// `llmk_matmul_lanes` on the path of `level`, for tests.
int llmk_matmul_lanes_at_level(int level, int type, const void *weights, size_t row_bytes, int blocks,
                               llmk_activations activations, int batch, float *output, int output_stride,
                               int row_begin, int row_end);

/// Activations quantized as llama.cpp's Q8_K, for K-quant weights: per 256-value block a float
/// scale, 256 signed bytes, and the sum of each 16 of them.
typedef struct {
    const int8_t *values;
    const float *scales;
    const int16_t *sums;
} llmk_superblock_activations;

/// Quantizes `rows` rows of `length` floats (a multiple of 256) one after another, as ggml's
/// quantize_row_q8_K_ref does.
void llmk_quantize_q8_K(const float *input, int rows, int length, int8_t *values, float *scales, int16_t *sums);

/// `llmk_quantize_q8_K` on the path of `level`, for tests.
void llmk_quantize_q8_K_at_level(int level, const float *input, int rows, int length, int8_t *values, float *scales,
                                 int16_t *sums);

/// Whether `llmk_matmul_superblocks` multiplies `type` (LLMK_Q2_K_REPACKED, Q3_K, LLMK_Q4_K_REPACKED,
/// Q5_K, Q6_K, IQ4_XS).
int llmk_has_superblock_path(int type);

/// output[b * output_stride + r] = row r · activation b for K-quant weights in GGML's layout (rows
/// `row_bytes` apart, `blocks` 256-value blocks each, any row range), summed as llama.cpp sums them
/// on x86 (see SuperBlockDot.c): the results are llama.cpp's to the bit, on every path.
/// Returns 0 for other types.
int llmk_matmul_superblocks(int type, const void *weights, size_t row_bytes, int blocks,
                            llmk_superblock_activations activations, int batch, float *output, int output_stride,
                            int row_begin, int row_end);

/// `llmk_matmul_superblocks` on the path of `level`, for tests.
int llmk_matmul_superblocks_at_level(int level, int type, const void *weights, size_t row_bytes, int blocks,
                                     llmk_superblock_activations activations, int batch, float *output,
                                     int output_stride, int row_begin, int row_end);

/// The instruction set the kernels use on this CPU: 0 portable, 1 AVX2, 2 AVX-512 VNNI.
/// LLMK_ISA=<level> in the environment asks for a lower one.
int llmk_best_level(void);

/// `llmk_matmul` on the path of `level` (at most the best one): for tests that check every
/// path gives the same numbers.
int llmk_matmul_at_level(int level, int type, const void *interleaved, int blocks, llmk_activations activations,
                         int batch, float *output, int output_stride, int row_begin, int row_end);

/// The same product for weights without an integer path (F32, F16; and any K-quant or IQ4 type,
/// for comparison): each row turned into floats once, then dotted with the float vectors of
/// `input` (each `length` long) in sixteen fused lanes. `level` as for `llmk_matmul_at_level`, or -1 for the best. Returns 0 for other types.
int llmk_matmul_float_at_level(int level, int type, const void *weights, size_t row_bytes, int length,
                               const float *input, int batch, float *output, int output_stride, int row_begin,
                               int row_end);

/// One 256-value block of Q4_K or Q6_K as floats, by ggml's reference formulas.
void llmk_dequantize_q4_K(const uint8_t *block, float *output);
void llmk_dequantize_q6_K(const uint8_t *block, float *output);

/// Values per block of a K-quant or IQ4 type (256; IQ4_NL 32), 0 for the others.
int llmk_block_values(int type);

/// A row of `length` values of a K-quant or IQ4 type as floats, by ggml's reference formulas.
/// Returns 0 for other types.
int llmk_dequantize_row(int type, const void *row, int length, float *output);

/// The type the integer kernels take a K-quant or IQ4 type's rows in (Q4_K → Q4_1, Q5_K → Q5_1,
/// the others → Q8_0; see KQuants.c for what each rewrite keeps), the type itself for the rest.
int llmk_requantized_type(int type);

/// Rewrites `rows` rows (`row_bytes` apart, `length` values each) of a K-quant or IQ4 type as
/// rows of `llmk_requantized_type(type)` blocks, one after another into `output`. Returns 0 for
/// other types.
int llmk_requantize(int type, const void *weights, size_t row_bytes, int rows, int length, void *output);

/// A hint to the CPU inside spin-wait loops.
void llmk_cpu_relax(void);

/// Converts `count` floats to half precision (round to nearest even).
void llmk_to_half(const float *input, uint16_t *output, int count);

/// Half-precision values widened to float (exact; F16C where the CPU has it).
void llmk_from_half(const uint16_t *input, float *output, size_t count);

/// Part of a KV cache: `count` positions of keys and of values.
typedef struct {
    const uint16_t *keys;
    const uint16_t *values;
    int count;
    /// Positions at the start left out (a sliding window's).
    int skip;
} llmk_cache_view;

/// Attention for one token of `heads` query heads that share one KV head (grouped-query
/// attention; 1 for plain multi-head), each head as llama.cpp computes it: scores = Q·K × scale
/// over `count` cached positions, softmax, output = Σ weight · V. Queries and outputs are `length`
/// floats per head, one head after another; cached keys and values `length` halves each, `stride`
/// halves apart. Each cached key and value is converted once for all the heads. `scores` needs
/// room for `heads` × `count` floats. `upcoming` is the cache the caller will attend over next
/// (count 0 for none): it is fetched towards the processor while this one is computed. The first
/// `skip` positions are masked out as llama.cpp masks a sliding window's (their scores −∞), so
/// every position keeps its place in the sums.
void llmk_attention(int heads, const float *queries, const uint16_t *keys, const uint16_t *values, int stride,
                    int length, int count, int skip, float scale, float *scores, float *outputs,
                    llmk_cache_view upcoming);

/// `llmk_attention` on the path of `level` (0 portable, more: F16C), for tests.
void llmk_attention_at_level(int level, int heads, const float *queries, const uint16_t *keys, const uint16_t *values,
                             int stride, int length, int count, int skip, float scale, float *scores, float *outputs,
                             llmk_cache_view upcoming);

/// One KV head's 8-bit cache (the blockwise order's): `count` positions of room for `rows`. Keys
/// and values are quantized as activations are (`llmk_quantize`), with a scale per 32 values: that
/// of values 32b… of position t at key_scales[b · rows + t] (value_scales alike), in half precision
/// (the quantizer rounds scales through half, so they lose nothing there). `length` is a
/// multiple of 4 and `rows` of 8. Keys: the integers + 128, positions in eights with four bytes
/// of each side by side (byte d of position t at (t / 8) · 8 · length + (d / 4) · 32 + 4 · (t % 8)
/// + d % 4). Values: the integers, positions in fours with each value's four side by side (byte d
/// of position t at (t / 4) · 4 · length + 4d + t % 4). The first `skip` positions are left out of
/// attention (a sliding window whose start is not a multiple of 32: the view starts at the
/// multiple before it): their weights are 0, the softmax is over the rest.
typedef struct {
    const uint8_t *keys;
    const uint16_t *key_scales;
    const int8_t *values;
    const uint16_t *value_scales;
    int count;
    int rows;
    int skip;
} llmk_kv8_view;

/// Quantizes one position's key and value (`length` floats each) into a KV head's 8-bit cache of
/// `rows` positions, at `position`.
void llmk_store_kv8(const float *key, const float *value, int length, int position, int rows, uint8_t *keys,
                    uint16_t *key_scales, int8_t *values, uint16_t *value_scales);

/// Attention for one token of `heads` query heads that share one KV head, over the 8-bit cache:
/// each query quantized as the keys are, Q·K summed exactly in integers per 32 values, times both
/// scales, added up and times `scale`; softmax by ggml's exp, summed in eight lanes; per 32 positions the weights (times
/// their value rows' scales) quantized to bytes (their largest / 255) and summed with the values
/// exactly in integers, then scaled and added up in single precision. Every head's numbers are
/// the same however many heads are computed together, on every path. `scratch` needs room for
/// (`heads` + 2) × `cache.count` + 64 floats (the scores, then the weights as bytes); `upcoming` is the cache the caller will attend over
/// next (count 0 for none), fetched meanwhile.
void llmk_attention_kv8(int heads, const float *queries, llmk_kv8_view cache, int length, float scale, float *scratch,
                        float *outputs, llmk_kv8_view upcoming);

/// Asks for the whole of `cache` (its `count` positions) into L2.
void llmk_prefetch_kv8(llmk_kv8_view cache, int length);

/// `llmk_attention_kv8` on the path of `level` (0 portable, 1 AVX2, 2 AVX-512 VNNI), for tests.
void llmk_attention_kv8_at_level(int level, int heads, const float *queries, llmk_kv8_view cache, int length,
                                 float scale, float *scratch, float *outputs, llmk_kv8_view upcoming);

/// The first index of the largest of `count` values (0 when none is larger than −∞, NaN included).
int llmk_argmax(const float *values, int count);

/// Sampling weights: weights[i] = exp((logits[i] − maximum) · scale), by ggml's exp, the exponent
/// held at −80 or above (so in (0, 1] when `maximum` is the largest logit). Returns their sum.
double llmk_softmax_weights(const float *logits, int count, float maximum, float scale, float *weights);

/// The sum of the weights at least `cut`, and in `how_many` how many there are.
double llmk_weight_at_least(const float *weights, int count, float cut, int *how_many);

/// The weights at least `cut` as sort keys, into `keys` (room for `count`), in order; returns how
/// many. A key is the weight's bits above UINT32_MAX − its index, so a larger key is a larger
/// weight, or an equal weight at a smaller index (weights are never negative).
int llmk_keys_at_least(const float *weights, int count, float cut, uint64_t *keys);

/// The first index at which the weights, added up in order, reach `threshold`; where rounding
/// leaves it out of reach, the last index with a weight above 0.
int llmk_draw(const float *weights, int count, double threshold);

/// output = x / sqrt(mean(x²) + epsilon) · weight for each of `rows` rows of `length` values (one
/// after another), the squares added in eight double lanes (element j into lane j % 8) combined
/// as ((0+4)+(2+6))+((1+5)+(3+7)), then the rest.
void llmk_rms_norm(const float *x, int rows, int length, const float *weight, float epsilon, float *output);

/// `llmk_rms_norm` on the path of `level` (0 portable, more: AVX2), for tests.
void llmk_rms_norm_at_level(int level, const float *x, int rows, int length, const float *weight, float epsilon,
                            float *output);

/// Rotary position embedding of `heads` heads of `length` values in place, in llama.cpp's
/// arithmetic: pair p (value i and value i + `partner`, i = p·2 when `partner` is 1, else p, with
/// `partner` half a head) turned by the angle whose cos and sin are rotation[2p] and rotation[2p+1].
void llmk_rope(float *vector, int heads, int length, const float *rotation, int partner);

/// gate[i] = silu(gate[i]) × up[i] for i in [begin, end) of a row `total` long, in llama.cpp's
/// arithmetic (its vectorised exp, and libm's for the row's last total % 16).
void llmk_swiglu(float *gate, const float *up, int begin, int end, int total);

/// `llmk_swiglu` on the path of `level` (0 portable, more: AVX2), for tests.
void llmk_swiglu_at_level(int level, float *gate, const float *up, int begin, int end, int total);

/// gate[i] = GELU(gate[i]) × up[i] for i in [begin, end), GELU's tanh form as llama.cpp computes it
/// (a table over half-precision inputs, rounded to half; ±10 and beyond without it).
void llmk_geglu_tanh(float *gate, const float *up, int begin, int end);

// --- Float matrix products for the diffusion engine (FloatGemm.c). ---------------------------------

/// C[i][j] (+)= Σₖ A[i][k]·B(k, j) for i < m, j < n, k < depth, all row-major float. With
/// `b_transposed`, B(k, j) is b[j·ldb + k] (B's rows are the outputs, as in a weight matrix or keys);
/// otherwise b[k·ldb + j]. `accumulate` adds to C instead of overwriting it. Each output is one
/// fused multiply-add per k in k order, from 0 (or from C), on every path: the same bits.
void llmk_sgemm(int b_transposed, int m, int n, int depth, const float *a, int lda, const float *b, int ldb, float *c,
                int ldc, int accumulate);

/// `llmk_sgemm` on the path of `level` (0 portable, 1 AVX2, 2 AVX-512), for tests.
void llmk_sgemm_at_level(int level, int b_transposed, int m, int n, int depth, const float *a, int lda, const float *b,
                         int ldb, float *c, int ldc, int accumulate);

/// Flags of `llmk_gemm_bf16`.
enum {
    LLMK_GEMM_B_TRANSPOSED = 1,  // B is n × depth (weights as stored, keys in attention), else depth × n
    LLMK_GEMM_ACCUMULATE = 2,    // C += A·B, else C = A·B
    LLMK_GEMM_A_BF16 = 4,        // A holds BF16 values (uint16_t), else floats
    LLMK_GEMM_B_BF16 = 8,        // B holds BF16 values; only with LLMK_GEMM_B_TRANSPOSED
};

/// C[m×n] (+)= A[m×depth] · B with both operands rounded to BF16 and float sums, as `vdpbf16ps`
/// adds pairs: the diffusion engine's fast products. Every path gives the same bits.
void llmk_gemm_bf16(int flags, int m, int n, int depth, const void *a, int lda, const void *b, int ldb, float *c,
                    int ldc);

/// `llmk_gemm_bf16` on the path of `level` (0 portable, 1 AVX2, 2 AVX-512 BF16), for tests.
void llmk_gemm_bf16_at_level(int level, int flags, int m, int n, int depth, const void *a, int lda, const void *b,
                             int ldb, float *c, int ldc);

/// A convolution's input: the feature maps [channels × height × width] of `frame_count` frames
/// (an animation's frames go through the shared weights together), square kernels, zero padding.
typedef struct {
    const float *const *frames;
    int frame_count;
    int channels, height, width;
    int kernel, stride, padding;
    int out_height, out_width;
} llmk_conv_input;

/// output[outputs × frames·pixels] (+)= weights[outputs × channels·kernel²] · patches, for output
/// columns first_pixel..first_pixel+pixel_count-1 (frame by frame, each frame's pixels in order):
/// `llmk_gemm_bf16` with B the frames' patch matrix, read from the inputs block by block (never
/// stored whole). Each column comes out with the same bits however the frames are batched.
/// Flags: LLMK_GEMM_ACCUMULATE, LLMK_GEMM_A_BF16.
void llmk_conv_bf16(int flags, int outputs, const void *weights, const llmk_conv_input *input, int first_pixel,
                    int pixel_count, float *output);

/// `llmk_conv_bf16` on the path of `level`, for tests.
void llmk_conv_bf16_at_level(int level, int flags, int outputs, const void *weights, const llmk_conv_input *input,
                             int first_pixel, int pixel_count, float *output);

/// One head of attention in the BF16 mode, in tiles: out[i] = Σ_j softmax_j(scale · q_i·k_j) v_j for
/// queries, keys and values `stride` floats apart (a head's slice of wider rows), `head_width` wide;
/// scores and probabilities rounded to BF16 as the products round them, sums in float.
void llmk_attention_bf16(const float *queries, const float *keys, const float *values, int stride, int query_count,
                         int key_count, int head_width, float scale, float *out, int out_stride);

/// `llmk_attention_bf16` on the path of `level`, for tests.
void llmk_attention_bf16_at_level(int level, const float *queries, const float *keys, const float *values, int stride,
                                  int query_count, int key_count, int head_width, float scale, float *out,
                                  int out_stride);

/// The best path of `llmk_gemm_bf16` on this CPU (2 needs AVX-512 BF16).
int llmk_bf16_level(void);

/// Floats rounded to BF16 (nearest even), as the products round them.
void llmk_round_bf16(const float *values, uint16_t *out, size_t count);

/// Softmax of each of `count` rows (`stride` apart) of `length` scores, scaled by `scale` first:
/// row r keeps its first `first_row + r + 1` entries with `causal` (the rest become 0), all otherwise.
void llmk_softmax_rows(float *rows, int count, int stride, int length, int causal, float scale, int first_row);

/// `llmk_softmax_rows` on the path of `level`, for tests.
void llmk_softmax_rows_at_level(int level, float *rows, int count, int stride, int length, int causal, float scale,
                                int first_row);

/// Makes the C allocator reuse freed blocks of any size below 1 GiB instead of mapping fresh
/// (zeroed) pages each time: for processes that allocate and free large feature maps per layer.
void llmk_keep_large_blocks(void);

/// Group normalisation in place over groups first_group..first_group+group_count-1 of a feature
/// map [groups·per_group channels × pixels]: statistics in double, then ·scale + shift per channel,
/// then SiLU when `silu`. Every path gives the same bits.
void llmk_group_norm(float *values, int pixels, int per_group, int first_group, int group_count, const float *scale,
                     const float *shift, float epsilon, int silu);

/// `llmk_group_norm` on the path of `level`, for tests.
void llmk_group_norm_at_level(int level, float *values, int pixels, int per_group, int first_group, int group_count,
                              const float *scale, const float *shift, float epsilon, int silu);

/// Layer normalisation in place over `rows` rows of `width` values: mean and variance in double
/// (eight lanes, as the group norm sums), then (x − mean)·inverse·scale + shift per value in float.
/// Every path gives the same bits.
void llmk_layer_norm(float *values, int rows, int width, const float *scale, const float *shift, float epsilon);

/// `llmk_layer_norm` on the path of `level`, for tests.
void llmk_layer_norm_at_level(int level, float *values, int rows, int width, const float *scale, const float *shift,
                              float epsilon);

/// Attention within runs of `frames` consecutive rows (AnimateDiff's temporal attention: rows pixel
/// by pixel, each pixel's frames in order), for the runs first_run..first_run+run_count-1: per run
/// and head (heads split `width` evenly) a frames × frames softmax of scaled dot products, in float
/// with a fixed order of operations that no vector width changes. `out` is written, not added to.
void llmk_frames_attention(const float *queries, const float *keys, const float *values, int frames, int width,
                           int heads, float scale, int first_run, int run_count, float *out);

/// GEGLU over rows of 2·inner values (the value half, then the gate half): out = x · GELU(gate),
/// GELU with erf (within 1.5e-7 of it).
void llmk_geglu(const float *projected, int rows, int inner, float *out);

/// `llmk_geglu` on the path of `level`, for tests.
void llmk_geglu_at_level(int level, const float *projected, int rows, int inner, float *out);

#endif
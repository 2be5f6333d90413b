#include "Common.h"
#include "Exp.h"

// The diffusion engine's per-element layers: group normalisation (with the SiLU that follows it
// in most of a UNet's and a VAE's blocks) and GEGLU. Sums run in double over eight fixed lanes,
// exp is ggml's, erf a fixed polynomial (Abramowitz & Stegun 7.1.26, within 1.5e-7), so the
// AVX-512 and portable paths do the same operations and give the same bits.

static inline float silu_scalar(float v) { return v / (1.0f + llmk_ggml_expf(-v)); }

/// erf(z)·… as GELU needs it: 0.5·x·(1 + erf(x/√2)), every operation as the vector path's.
static inline float gelu_scalar(float x) {
    const float z = x * 0.70710678118654752f, a = fabsf(z);
    const float t = 1.0f / fmaf(0.3275911f, a, 1.0f);
    const float poly = fmaf(fmaf(fmaf(fmaf(1.061405429f, t, -1.453152027f), t, 1.421413741f), t, -0.284496736f), t, 0.254829592f) * t;
    const float e = llmk_ggml_expf(-(a * a));
    const float magnitude = 1.0f - poly * e;
    const float erf = z < 0 ? -magnitude : magnitude;
    return 0.5f * x * (1.0f + erf);
}

#ifdef LLMK_X86
__attribute__((target("avx512f"))) static inline __m512 silu16(__m512 v) {
    float values[16];
    _mm512_storeu_ps(values, _mm512_sub_ps(_mm512_setzero_ps(), v));
    llmk_expf16(values);
    return _mm512_div_ps(v, _mm512_add_ps(_mm512_set1_ps(1.0f), _mm512_loadu_ps(values)));
}

__attribute__((target("avx512f"))) static inline __m512 gelu16(__m512 x) {
    const __m512 z = _mm512_mul_ps(x, _mm512_set1_ps(0.70710678118654752f));
    const __m512 a = _mm512_abs_ps(z);
    const __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_fmadd_ps(_mm512_set1_ps(0.3275911f), a, _mm512_set1_ps(1.0f)));
    __m512 poly = _mm512_fmadd_ps(_mm512_set1_ps(1.061405429f), t, _mm512_set1_ps(-1.453152027f));
    poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(1.421413741f));
    poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(-0.284496736f));
    poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(0.254829592f));
    poly = _mm512_mul_ps(poly, t);
    float values[16];
    _mm512_storeu_ps(values, _mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(a, a)));
    llmk_expf16(values);
    const __m512 magnitude = _mm512_sub_ps(_mm512_set1_ps(1.0f), _mm512_mul_ps(poly, _mm512_loadu_ps(values)));
    const __mmask16 negative = _mm512_cmp_ps_mask(z, _mm512_setzero_ps(), _CMP_LT_OQ);
    const __m512 erf = _mm512_mask_sub_ps(magnitude, negative, _mm512_setzero_ps(), magnitude);
    return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), x), _mm512_add_ps(_mm512_set1_ps(1.0f), erf));
}

/// plane[i]·a + b (then SiLU) sixteen at a time; returns how many it did.
__attribute__((target("avx512f"))) static int llmk_scale_shift_avx512(float *plane, int count, float a, float b,
                                                                     int silu) {
    const __m512 va = _mm512_set1_ps(a), vb = _mm512_set1_ps(b);
    int i = 0;
    for (; i + 16 <= count; i += 16) {
        const __m512 v = _mm512_fmadd_ps(_mm512_loadu_ps(plane + i), va, vb);
        _mm512_storeu_ps(plane + i, silu ? silu16(v) : v);
    }
    return i;
}

/// y = x · GELU(gate) sixteen at a time; returns how many it did.
__attribute__((target("avx512f"))) static int llmk_geglu_row_avx512(const float *x, const float *gate, int count,
                                                                   float *y) {
    int i = 0;
    for (; i + 16 <= count; i += 16) {
        _mm512_storeu_ps(y + i, _mm512_mul_ps(_mm512_loadu_ps(x + i), gelu16(_mm512_loadu_ps(gate + i))));
    }
    return i;
}

__attribute__((target("avx512f"))) static void lane_sums_avx512(const float *x, size_t count, double mean, double *sums,
                                                                double *squares) {
    // Element i into lane i mod 8, as the portable loop adds them.
    __m512d s = _mm512_setzero_pd(), q = _mm512_setzero_pd();
    const __m512d m = _mm512_set1_pd(mean);
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        const __m512d v = _mm512_cvtps_pd(_mm256_loadu_ps(x + i));
        s = _mm512_add_pd(s, v);
        const __m512d d = _mm512_sub_pd(v, m);
        q = _mm512_add_pd(q, _mm512_mul_pd(d, d));
    }
    _mm512_storeu_pd(sums, s);
    _mm512_storeu_pd(squares, q);
    for (; i < count; i++) {
        sums[i % 8] += x[i];
        const double d = (double)x[i] - mean;
        squares[i % 8] += d * d;
    }
}
#endif

static void lane_sums_portable(const float *x, size_t count, double mean, double *sums, double *squares) {
    for (int l = 0; l < 8; l++) sums[l] = squares[l] = 0.0;
    for (size_t i = 0; i < count; i++) {
        sums[i % 8] += x[i];
        const double d = (double)x[i] - mean;
        squares[i % 8] += d * d;
    }
}

static double combine(const double *lanes) {
    return ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
}

/// The mean of `count` values and 1/√(variance + ε): eight double lanes, the mean first, then the
/// squares about it (two passes, as the double sums need).
static void moments(int level, const float *x, size_t count, float epsilon, double *mean, double *inverse) {
    double sums[8], squares[8];
#ifdef LLMK_X86
    if (level >= 2) lane_sums_avx512(x, count, 0.0, sums, squares); else
#endif
    lane_sums_portable(x, count, 0.0, sums, squares);
    *mean = combine(sums) / (double)count;
#ifdef LLMK_X86
    if (level >= 2) lane_sums_avx512(x, count, *mean, sums, squares); else
#endif
    lane_sums_portable(x, count, *mean, sums, squares);
    *inverse = 1.0 / sqrt(combine(squares) / (double)count + (double)epsilon);
}

void llmk_group_norm_at_level(int level, float *values, int pixels, int per_group, int first_group, int group_count,
                              const float *scale, const float *shift, float epsilon, int silu) {
    level = llmk_level(level);
    for (int group = first_group; group < first_group + group_count; group++) {
        float *start = values + (size_t)group * per_group * pixels;
        double mean, inverse;
        moments(level, start, (size_t)per_group * pixels, epsilon, &mean, &inverse);
        for (int c = 0; c < per_group; c++) {
            const int channel = group * per_group + c;
            const float a = (float)inverse * scale[channel], b = shift[channel] - (float)mean * a;
            float *plane = start + (size_t)c * pixels;
            int i = 0;
#ifdef LLMK_X86
            if (level >= 2) i = llmk_scale_shift_avx512(plane, pixels, a, b, silu);
#endif
            for (; i < pixels; i++) {
                const float v = fmaf(plane[i], a, b);
                plane[i] = silu ? silu_scalar(v) : v;
            }
        }
    }
}

void llmk_group_norm(float *values, int pixels, int per_group, int first_group, int group_count, const float *scale,
                     const float *shift, float epsilon, int silu) {
    llmk_group_norm_at_level(llmk_best_level(), values, pixels, per_group, first_group, group_count, scale, shift,
                             epsilon, silu);
}

void llmk_layer_norm_at_level(int level, float *values, int rows, int width, const float *scale, const float *shift,
                              float epsilon) {
    level = llmk_level(level);
    for (int r = 0; r < rows; r++) {
        float *x = values + (size_t)r * width;
        double mean, exact_inverse;
        moments(level, x, (size_t)width, epsilon, &mean, &exact_inverse);
        const float inverse = (float)exact_inverse, m = (float)mean;
        // Element by element, the same operations on every path (the compiler may vectorize it).
        for (int i = 0; i < width; i++) x[i] = (x[i] - m) * inverse * scale[i] + shift[i];
    }
}

void llmk_layer_norm(float *values, int rows, int width, const float *scale, const float *shift, float epsilon) {
    llmk_layer_norm_at_level(llmk_best_level(), values, rows, width, scale, shift, epsilon);
}

void llmk_geglu_at_level(int level, const float *projected, int rows, int inner, float *out) {
    level = llmk_level(level);
    for (int r = 0; r < rows; r++) {
        const float *x = projected + (size_t)r * 2 * inner, *gate = x + inner;
        float *y = out + (size_t)r * inner;
        int i = 0;
#ifdef LLMK_X86
        if (level >= 2) i = llmk_geglu_row_avx512(x, gate, inner, y);
#endif
        for (; i < inner; i++) y[i] = x[i] * gelu_scalar(gate[i]);
    }
}

void llmk_geglu(const float *projected, int rows, int inner, float *out) {
    llmk_geglu_at_level(llmk_best_level(), projected, rows, inner, out);
}

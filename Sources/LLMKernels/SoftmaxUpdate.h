// The running softmax that attention in tiles and plain softmax rows share (Softmax.c).
#ifndef LLMK_SOFTMAX_UPDATE_H
#define LLMK_SOFTMAX_UPDATE_H

/// Rows of `scores` (`count` of them, `stride` apart, `length` valid) meet a new block of scores:
/// each row's `maximum` becomes the larger of it and the block's, the block becomes
/// p = exp((s − maximum)·scale) in place and is added into the row's eight `lanes` (element j into
/// lane j mod 8), and the lanes and the `width` values of the row's output (`out`, `out_stride`
/// apart) are first rescaled by exp((old maximum − new maximum)·scale). ggml's exp, sixteen, eight
/// or one at a time: every path gives the same bits.
void llmk_softmax_update(int level, float *scores, int stride, int count, int length, float scale, float *maximum,
                         float (*lanes)[8], float *out, int out_stride, int width);

/// A row's sum from its eight lanes, added in a fixed order.
static inline float llmk_lane_sum(const float lanes[8]) {
    return ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
}

#endif

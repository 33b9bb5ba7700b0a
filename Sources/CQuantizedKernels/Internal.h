#ifndef AIRFL_QUANTIZED_KERNELS_INTERNAL_H
#define AIRFL_QUANTIZED_KERNELS_INTERNAL_H

#include "include/QuantizedKernels.h"

/// Rows of W a kernel prepares and runs at once.
#define QK_TILE_ROWS 4

/// QK_TILE_ROWS rows of W unpacked for one kernel (rows past the matrix are zero):
///   w     [4][k]   int8 values (Q4_0: q − 8, Q4_1: q, Q8_0: q), blocks as in the file
///   dw    [4][nb]  float scales
///   mw    [4][nb]  float minima (Q4_1; zero otherwise), used when has_min
///   bias  [4][nb]  int32 −128·Σ of the block's w: the packed activations carry q + 128
typedef struct {
    int8_t *w;
    float *dw;
    float *mw;
    int32_t *bias;
    int has_min;
    /// w spans all of int8 (Q8_0): AVX2's 16-bit pair sums need the sign trick, not the bias.
    int wide;
} qk_tile;

/// Unpacks rows [o0, o0 + rows) of W (`type` blocks, k per row) into `t`, rows past them zero.
void qk_prepare_scalar(qk_type type, const uint8_t *w, int k, int o0, int rows, qk_tile *t);
void qk_prepare_avx2(qk_type type, const uint8_t *w, int k, int o0, int rows, qk_tile *t);

/// One row's block b (32 floats at v): its scale, and whether it is finite.
void qk_quantize_block_scalar(const float *v, int8_t *q, uint8_t *packed_lane, float *d, float *ds);
void qk_quantize_block_avx512(const float *v, int8_t *q, uint8_t *packed_lane, float *d, float *ds);

/// IEEE binary16 bits → float (subnormals, infinities and NaN included).
float qk_half_to_float(uint16_t h);

void qk_tile_scalar(const qk_tile *t, int rows, qk_activations x, int k, int tokens, float *y, int ldy, int o0, int accumulate);
void qk_tile_avx2(const qk_tile *t, int rows, qk_activations x, int k, int tokens, float *y, int ldy, int o0, int accumulate);
void qk_tile_avx512(const qk_tile *t, int rows, qk_activations x, int k, int tokens, float *y, int ldy, int o0, int accumulate);

/// Writes one row's outputs for `count` tokens from lanes (y[(t0 + j)·ldy + o]).
static inline void qk_store(const float *lanes, int count, float *y, int ldy, int t0, int o, int accumulate) {
    for (int j = 0; j < count; j++) {
        float *out = y + (size_t)(t0 + j) * ldy + o;
        *out = accumulate ? *out + lanes[j] : lanes[j];
    }
}

#endif

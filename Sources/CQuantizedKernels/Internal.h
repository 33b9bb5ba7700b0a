#ifndef AIRFL_QUANTIZED_KERNELS_INTERNAL_H
#define AIRFL_QUANTIZED_KERNELS_INTERNAL_H

#include "include/QuantizedKernels.h"

/// Rows of W a kernel prepares and runs at once.
#define QK_TILE_ROWS 4

/// QK_TILE_ROWS rows of W unpacked for one kernel (rows past the matrix are zero):
///   w   [4][k]   int8 values (Q4_0: q − 8, Q4_1: q, Q8_0: q); VNNI stores them + 128 as uint8
///   dw  [4][nb]  float scales
///   mw  [4][nb]  float minima (Q4_1; zero otherwise), used when has_min
typedef struct {
    int8_t *w;
    float *dw;
    float *mw;
    int has_min;
} qk_tile;

/// The lanes' fixed reduction: v = even + odd, then lanes l + l+4, l + l+2, 0 + 1.
static inline float qk_reduce8(const float even[8], const float odd[8]) {
    float v[8], a[4];
    for (int l = 0; l < 8; l++) v[l] = even[l] + odd[l];
    for (int l = 0; l < 4; l++) a[l] = v[l] + v[l + 4];
    float b0 = a[0] + a[2], b1 = a[1] + a[3];
    return b0 + b1;
}

// Q4_1's minimum term Σ_b mw_b·ds_b is summed the same way: lane l takes blocks b ≡ l mod 8 in
// order (fma), then qk_reduce8 with zero odd lanes.

void qk_tile_scalar(const qk_tile *t, int rows, qk_activations x, int k, int tokens, float *y, int ldy, int o0, int accumulate);
void qk_tile_avx2(const qk_tile *t, int rows, qk_activations x, int k, int tokens, float *y, int ldy, int o0, int accumulate);
void qk_tile_avx512(const qk_tile *t, int rows, qk_activations x, int k, int tokens, float *y, int ldy, int o0, int accumulate);

#endif

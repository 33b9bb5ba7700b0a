#ifndef AIRFL_QUANTIZED_KERNELS_H
#define AIRFL_QUANTIZED_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Matrix products on a frozen model's quantized blocks (GGUF Q4_0, Q4_1, Q8_0), activations
/// quantized per 32-element block to 8 bits.
///
/// Every instruction set computes the same bits. Per block b of a weight row w and an activation
/// row x the integer dot product Σ w_i·q_i is exact and kept as 8 lanes of 4 products each (bytes
/// 4l…4l+3 in lane l: what VNNI's dpbusd and AVX2's maddubs+madd both make); lanes accumulate in
/// float as acc[parity(b)][l] = fma(float(lane), d_w,b·d_x,b, acc), and the lanes are summed in a
/// fixed tree. So a seed reproduces a run on AVX-512 VNNI, AVX2 and plain C alike.

/// Weight block formats (ggml's `enum ggml_type` values).
typedef enum { QK_Q4_0 = 2, QK_Q4_1 = 3, QK_Q8_0 = 8 } qk_type;

/// The kernels: plain C, AVX2, AVX-512 with VNNI.
typedef enum { QK_ISA_SCALAR = 0, QK_ISA_AVX2 = 1, QK_ISA_AVX512_VNNI = 2 } qk_isa;

/// The best instruction set this CPU runs (CPUID at first call).
qk_isa qk_best_isa(void);

/// Whether this CPU runs `isa`.
int qk_supports(qk_isa isa);

/// One token's activations quantized per 32-element block (k a multiple of 32, nb = k/32):
///   q      [rows][k]      int8, x ≈ q·d (d = max|x|/127, q = round(x/d))
///   d      [rows][nb]     float, the block's scale
///   ds     [rows][nb]     float, d·Σq (the block's sum, for Q4_1's minimum)
///   groups [rows][nb][8]  int32, −128·Σ of each 4 bytes (undoes VNNI's unsigned bias)
typedef struct {
    int8_t *q;
    float *d;
    float *ds;
    int32_t *groups;
} qk_activations;

/// Quantizes `rows` rows of `k` floats (row stride `ldx`) into `a`.
void qk_quantize_rows(const float *x, int rows, int k, int ldx, qk_activations a);

/// y[t][o] = Σ_k W[o][k]·x[t][k] (+ y[t][o] when `accumulate`), for o in [o_begin, o_end) and
/// t in [0, tokens); W is `type` rows of k elements, `w` its first byte (row o at
/// o·(k/32)·bytes-per-block), y row-major with row stride ldy.
void qk_linear(qk_isa isa, qk_type type, const void *w, int k, int o_begin, int o_end,
               qk_activations x, int tokens, float *y, int ldy, int accumulate);

#endif

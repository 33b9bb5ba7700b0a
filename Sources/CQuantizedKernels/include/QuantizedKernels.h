#ifndef AIRFL_QUANTIZED_KERNELS_H
#define AIRFL_QUANTIZED_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Matrix products on a frozen model's quantized blocks (GGUF Q4_0, Q4_1, Q8_0), activations
/// quantized per 32-element block to 8 bits.
///
/// Every instruction set computes the same bits, those of this definition: for output (o, t),
/// acc = +0 and for each block b in order
///     acc = fma(float(dot_b), dw[o][b]·dx[t][b], acc)      dot_b = Σ_i w[o][32b+i]·q[t][32b+i], exact
/// and for Q4_1 (its block minima) a second chain min = +0, min = fma(mw[o][b], ds[t][b], min) in
/// the same order, acc = acc + min; then y = acc (or y + acc). The vector kernels keep one output per lane and the integer dot
/// products exact, so a seed reproduces a run on AVX-512 VNNI, AVX2 and plain C alike.

/// Weight block formats (ggml's `enum ggml_type` values).
typedef enum { QK_Q4_0 = 2, QK_Q4_1 = 3, QK_Q8_0 = 8 } qk_type;

/// The kernels: plain C, AVX2, AVX-512 with VNNI.
typedef enum { QK_ISA_SCALAR = 0, QK_ISA_AVX2 = 1, QK_ISA_AVX512_VNNI = 2 } qk_isa;

/// The best instruction set this CPU runs (CPUID at first call).
qk_isa qk_best_isa(void);

/// Whether this CPU runs `isa`.
int qk_supports(qk_isa isa);

/// Tokens per group in the packed layout (one 512-bit register of int32 lanes).
#define QK_GROUP 16

/// Activations quantized per 32-element block (k a multiple of 32, nb = k/32, groups =
/// ⌈rows/16⌉; tokens past `rows` are zero):
///   q      [rows][k]                  int8, x ≈ q·d (d = max|x|/127, q = x·(1/d) rounded to
///                                     nearest, ties to even; a block with inf or NaN: q = 0,
///                                     d = NaN, so NaN reaches every output it feeds)
///   d      [rows][nb]                 float, the block's scale
///   ds     [rows][nb]                 float, d·Σq (for Q4_1's minimum)
///   packed [groups][nb][8][16][4]     uint8 q + 128: bytes 4j…4j+3 of block b of the group's
///                                     16 tokens side by side (the vector kernels' operand)
///   dT     [groups][nb][16]           d per block, the group's tokens side by side
///   dsT    [groups][nb][16]           ds likewise
typedef struct {
    int8_t *q;
    float *d;
    float *ds;
    uint8_t *packed;
    float *dT;
    float *dsT;
} qk_activations;

/// Quantizes `rows` rows of `k` floats (row stride `ldx`) into `a` on `isa` (the same bytes on
/// every one: q rounds half to even).
void qk_quantize_rows(qk_isa isa, const float *x, int rows, int k, int ldx, qk_activations a);

/// y[t][o] = Σ_k W[o][k]·x[t][k] (+ y[t][o] when `accumulate`), for o in [o_begin, o_end) and
/// t in [0, tokens); W is `type` rows of k elements, `w` its first byte (row o at
/// o·(k/32)·bytes-per-block), y row-major with row stride ldy.
void qk_linear(qk_isa isa, qk_type type, const void *w, int k, int o_begin, int o_end,
               qk_activations x, int tokens, float *y, int ldy, int accumulate);

/// Wᵀ as GGUF Q8_0 rows: W is `rows` × `inner` floats (row-major, rows a multiple of 32); out
/// gets `inner` rows of rows/32 blocks (f16 d = max|x|/127, q = round(x/d), ties away from zero,
/// as ggml's quantize_row_q8_0), the matrix the backward's dx = dy·W multiplies on.
void qk_quantize_q8_0_transposed(const float *w, int rows, int inner, uint8_t *out);
// One band of that transpose: `band` holds rows 32·b ..< 32·b + 32 of W (32 × inner floats); it
// writes block b of each of the transpose's `inner` rows (of rows/32 blocks). The bands in any
// order give qk_quantize_q8_0_transposed's bytes, with 32 rows of Floats held instead of W.
void qk_quantize_q8_0_transposed_band(const float *band, int b, int rows, int inner, uint8_t *out);

#endif

// The AVX-512 VNNI kernel: a tile of 4 rows of W × 32 tokens (two groups of 16, one token per
// lane). Per block, dpbusd multiplies 4 bytes of each token's packed activations (q + 128,
// unsigned) by the same 4 bytes of a weight row broadcast (signed) and adds them into the lanes,
// which start at the row's bias −128·Σw; eight of those make the block's exact dot product, then
// one fma per lane applies dw·dx (the header's definition, lane by lane).
#include "Internal.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#pragma clang fp contract(off)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,fma"))), apply_to = function)

static inline __m512i broadcast_word(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}

void qk_quantize_block_avx512(const float *v, int8_t *q, uint8_t *packed_lane, float *d_out, float *ds_out) {
    const __m512 infinity = _mm512_set1_ps(__builtin_inff());
    __m512 v0 = _mm512_loadu_ps(v), v1 = _mm512_loadu_ps(v + 16);
    __m512 a0 = _mm512_abs_ps(v0), a1 = _mm512_abs_ps(v1);
    // inf or NaN (unordered): not below infinity.
    __mmask16 bad = _mm512_cmp_ps_mask(a0, infinity, _CMP_NLT_UQ) | _mm512_cmp_ps_mask(a1, infinity, _CMP_NLT_UQ);
    float amax = _mm512_reduce_max_ps(_mm512_max_ps(a0, a1));
    float d = amax / 127, inv = (!bad && d > 0) ? 1 / d : 0;
    __m512i q0 = _mm512_setzero_si512(), q1 = q0;
    if (!bad) {
        q0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, _mm512_set1_ps(inv)));
        q1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, _mm512_set1_ps(inv)));
    }
    int sum = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
    __m128i b0 = _mm512_cvtepi32_epi8(q0), b1 = _mm512_cvtepi32_epi8(q1);
    _mm_storeu_si128((__m128i *)q, b0);
    _mm_storeu_si128((__m128i *)(q + 16), b1);
    // q + 128, each 4 bytes to its place in the packed layout (one 64-byte row per 4 elements).
    __m256i biased = _mm256_xor_si256(_mm256_set_m128i(b1, b0), _mm256_set1_epi8((char)0x80));
    const __m256i rows = _mm256_setr_epi32(0, 16, 32, 48, 64, 80, 96, 112);
    _mm256_i32scatter_epi32(packed_lane, rows, biased, 4);
    *d_out = bad ? __builtin_nanf("") : d;
    *ds_out = *d_out * (float)sum;
}

void qk_tile_avx512(const qk_tile *t, int rows, qk_activations x, int k, int tokens, float *y, int ldy, int o0, int accumulate) {
    int nb = k / 32, groups = (tokens + QK_GROUP - 1) / QK_GROUP;
    const size_t group_bytes = (size_t)nb * 8 * QK_GROUP * 4;
    for (int g0 = 0; g0 < groups; g0 += 2) {
        // An odd last group is computed twice and stored once.
        int g1 = g0 + 1 < groups ? g0 + 1 : g0;
        const uint8_t *p0 = x.packed + g0 * group_bytes, *p1 = x.packed + g1 * group_bytes;
        __m512 fa[4][2];
        for (int i = 0; i < 4; i++) fa[i][0] = fa[i][1] = _mm512_setzero_ps();
        for (int b = 0; b < nb; b++) {
            __m512i ia[4][2];
            for (int i = 0; i < 4; i++) ia[i][0] = ia[i][1] = _mm512_set1_epi32(t->bias[i * nb + b]);
            for (int kq = 0; kq < 8; kq++) {
                __m512i x0 = _mm512_loadu_si512(p0 + ((size_t)b * 8 + kq) * 64), x1 = _mm512_loadu_si512(p1 + ((size_t)b * 8 + kq) * 64);
                for (int i = 0; i < 4; i++) {
                    __m512i w = broadcast_word(t->w + (size_t)i * k + b * 32 + kq * 4);
                    ia[i][0] = _mm512_dpbusd_epi32(ia[i][0], x0, w);
                    ia[i][1] = _mm512_dpbusd_epi32(ia[i][1], x1, w);
                }
            }
            __m512 d0 = _mm512_loadu_ps(x.dT + ((size_t)g0 * nb + b) * QK_GROUP), d1 = _mm512_loadu_ps(x.dT + ((size_t)g1 * nb + b) * QK_GROUP);
            for (int i = 0; i < 4; i++) {
                __m512 dw = _mm512_set1_ps(t->dw[i * nb + b]);
                fa[i][0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ia[i][0]), _mm512_mul_ps(d0, dw), fa[i][0]);
                fa[i][1] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ia[i][1]), _mm512_mul_ps(d1, dw), fa[i][1]);
            }
        }
        if (t->has_min) {
            // Q4_1's minima, a second chain added once at the end (the header's definition).
            __m512 fm[4][2];
            for (int i = 0; i < 4; i++) fm[i][0] = fm[i][1] = _mm512_setzero_ps();
            for (int b = 0; b < nb; b++) {
                __m512 s0 = _mm512_loadu_ps(x.dsT + ((size_t)g0 * nb + b) * QK_GROUP), s1 = _mm512_loadu_ps(x.dsT + ((size_t)g1 * nb + b) * QK_GROUP);
                for (int i = 0; i < 4; i++) {
                    __m512 m = _mm512_set1_ps(t->mw[i * nb + b]);
                    fm[i][0] = _mm512_fmadd_ps(m, s0, fm[i][0]);
                    fm[i][1] = _mm512_fmadd_ps(m, s1, fm[i][1]);
                }
            }
            for (int i = 0; i < 4; i++) {
                fa[i][0] = _mm512_add_ps(fa[i][0], fm[i][0]);
                fa[i][1] = _mm512_add_ps(fa[i][1], fm[i][1]);
            }
        }
        for (int i = 0; i < rows; i++) {
            for (int h = 0; h < (g1 == g0 ? 1 : 2); h++) {
                float lanes[QK_GROUP];
                _mm512_storeu_ps(lanes, fa[i][h]);
                int t0 = (h ? g1 : g0) * QK_GROUP, count = tokens - t0 < QK_GROUP ? tokens - t0 : QK_GROUP;
                qk_store(lanes, count, y, ldy, t0, o0 + i, accumulate);
            }
        }
    }
}

#pragma clang attribute pop
#else
void qk_quantize_block_avx512(const float *v, int8_t *q, uint8_t *packed_lane, float *d_out, float *ds_out) {
    qk_quantize_block_scalar(v, q, packed_lane, d_out, ds_out);
}

void qk_tile_avx512(const qk_tile *t, int rows, qk_activations x, int k, int tokens, float *y, int ldy, int o0, int accumulate) {
    qk_tile_scalar(t, rows, x, k, tokens, y, ldy, o0, accumulate);
}
#endif

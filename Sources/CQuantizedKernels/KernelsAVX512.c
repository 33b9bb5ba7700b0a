// The AVX-512 VNNI kernel: two blocks per 512-bit register, a tile of 4 rows of W × 4 tokens,
// 16 float accumulators whose lanes 0–7 take even blocks and 8–15 odd ones (Internal.h).
#include "Internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

#pragma clang fp contract(off)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,fma"))), apply_to = function)

/// [p[0] ×8, p[1] ×8] (p[1] read only when `two`, else 0).
static inline __m512 expand_pair(const float *p, int two) {
    const __m512i halves = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    __m512 v = _mm512_maskz_loadu_ps(two ? 0x3 : 0x1, p);
    return two ? _mm512_permutexvar_ps(halves, v) : _mm512_maskz_permutexvar_ps(0x00FF, halves, v);
}

/// The fixed tree of qk_reduce8 on one accumulator (lanes 0–7 even blocks, 8–15 odd).
static inline float reduce_pair(__m512 acc) {
    __m256 v = _mm256_add_ps(_mm512_castps512_ps256(acc), _mm512_extractf32x8_ps(acc, 1));
    __m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    __m128 b = _mm_add_ps(a, _mm_movehl_ps(a, a));
    return _mm_cvtss_f32(_mm_add_ss(b, _mm_shuffle_ps(b, b, 1)));
}

/// Q4_1's minimum term, eight blocks at a time (lane l: blocks ≡ l mod 8).
static inline float minimum_term(const float *mw, const float *ds, int nb) {
    __m256 c = _mm256_setzero_ps();
    for (int b = 0; b < nb; b += 8) {
        __mmask8 m = nb - b >= 8 ? 0xFF : (__mmask8)((1u << (nb - b)) - 1);
        c = _mm256_fmadd_ps(_mm256_maskz_loadu_ps(m, mw + b), _mm256_maskz_loadu_ps(m, ds + b), c);
    }
    __m256 v = _mm256_add_ps(c, _mm256_setzero_ps());
    __m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    __m128 b = _mm_add_ps(a, _mm_movehl_ps(a, a));
    return _mm_cvtss_f32(_mm_add_ss(b, _mm_shuffle_ps(b, b, 1)));
}

void qk_tile_avx512(const qk_tile *t, int rows, qk_activations x, int k, int tokens, float *y, int ldy, int o0, int accumulate) {
    int nb = k / 32;
    for (int t0 = 0; t0 < tokens; t0 += 4) {
        int tok[4];
        for (int j = 0; j < 4; j++) tok[j] = t0 + j < tokens ? t0 + j : tokens - 1;
        __m512 acc[4][4];
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) acc[i][j] = _mm512_setzero_ps();
        for (int b = 0; b < nb; b += 2) {
            int two = b + 1 < nb;
            __mmask64 bytes = two ? ~0ULL : 0xFFFFFFFFULL;
            __mmask16 lanes = two ? 0xFFFF : 0x00FF;
            __m512i w[4];
            __m512 sw[4];
            for (int i = 0; i < 4; i++) {
                w[i] = _mm512_maskz_loadu_epi8(bytes, t->w + (size_t)i * k + b * 32);
                sw[i] = expand_pair(t->dw + i * nb + b, two);
            }
            for (int j = 0; j < 4; j++) {
                __m512i q = _mm512_maskz_loadu_epi8(bytes, x.q + (size_t)tok[j] * k + b * 32);
                __m512i g = _mm512_maskz_loadu_epi32(lanes, x.groups + ((size_t)tok[j] * nb + b) * 8);
                __m512 sx = expand_pair(x.d + (size_t)tok[j] * nb + b, two);
                for (int i = 0; i < 4; i++) {
                    __m512i dot = _mm512_dpbusd_epi32(g, w[i], q);
                    acc[i][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(sw[i], sx), acc[i][j]);
                }
            }
        }
        for (int j = 0; j < 4 && t0 + j < tokens; j++) {
            for (int i = 0; i < rows; i++) {
                float v = reduce_pair(acc[i][j]);
                if (t->has_min) v = v + minimum_term(t->mw + i * nb, x.ds + (size_t)(t0 + j) * nb, nb);
                float *out = y + (size_t)(t0 + j) * ldy + o0 + i;
                *out = accumulate ? *out + v : v;
            }
        }
    }
}

#pragma clang attribute pop
#else
void qk_tile_avx512(const qk_tile *t, int rows, qk_activations x, int k, int tokens, float *y, int ldy, int o0, int accumulate) {
    qk_tile_scalar(t, rows, x, k, tokens, y, ldy, o0, accumulate);
}
#endif

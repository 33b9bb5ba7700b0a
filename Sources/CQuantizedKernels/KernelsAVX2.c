// The AVX2 kernel: one block per 256-bit register (|w|·sign(q, w) through maddubs, pairs summed by
// madd: the same eight 4-byte lanes as VNNI), a tile of 4 rows of W × 1 token, even and odd
// blocks in separate accumulators (Internal.h).
#include "Internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

#pragma clang fp contract(off)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)

static inline float reduce8(__m256 even, __m256 odd) {
    __m256 v = _mm256_add_ps(even, odd);
    __m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    __m128 b = _mm_add_ps(a, _mm_movehl_ps(a, a));
    return _mm_cvtss_f32(_mm_add_ss(b, _mm_shuffle_ps(b, b, 1)));
}

static inline float minimum_term(const float *mw, const float *ds, int nb) {
    __m256 c = _mm256_setzero_ps();
    int b = 0;
    for (; b + 8 <= nb; b += 8) c = _mm256_fmadd_ps(_mm256_loadu_ps(mw + b), _mm256_loadu_ps(ds + b), c);
    if (b < nb) {
        float m[8] = {0}, d[8] = {0};
        for (int l = 0; l < nb - b; l++) { m[l] = mw[b + l]; d[l] = ds[b + l]; }
        c = _mm256_fmadd_ps(_mm256_loadu_ps(m), _mm256_loadu_ps(d), c);
    }
    return reduce8(c, _mm256_setzero_ps());
}

void qk_tile_avx2(const qk_tile *t, int rows, qk_activations x, int k, int tokens, float *y, int ldy, int o0, int accumulate) {
    int nb = k / 32;
    const __m256i ones = _mm256_set1_epi16(1);
    for (int tok = 0; tok < tokens; tok++) {
        __m256 acc[4][2];
        for (int i = 0; i < 4; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
        for (int b = 0; b < nb; b++) {
            __m256i q = _mm256_loadu_si256((const __m256i *)(x.q + (size_t)tok * k + b * 32));
            __m256 sx = _mm256_set1_ps(x.d[(size_t)tok * nb + b]);
            for (int i = 0; i < 4; i++) {
                __m256i w = _mm256_loadu_si256((const __m256i *)(t->w + (size_t)i * k + b * 32));
                __m256i pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(q, w));
                __m256i dot = _mm256_madd_epi16(pairs, ones);
                __m256 scale = _mm256_mul_ps(_mm256_set1_ps(t->dw[i * nb + b]), sx);
                acc[i][b & 1] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), scale, acc[i][b & 1]);
            }
        }
        for (int i = 0; i < rows; i++) {
            float v = reduce8(acc[i][0], acc[i][1]);
            if (t->has_min) v = v + minimum_term(t->mw + i * nb, x.ds + (size_t)tok * nb, nb);
            float *out = y + (size_t)tok * ldy + o0 + i;
            *out = accumulate ? *out + v : v;
        }
    }
}

#pragma clang attribute pop
#else
void qk_tile_avx2(const qk_tile *t, int rows, qk_activations x, int k, int tokens, float *y, int ldy, int o0, int accumulate) {
    qk_tile_scalar(t, rows, x, k, tokens, y, ldy, o0, accumulate);
}
#endif

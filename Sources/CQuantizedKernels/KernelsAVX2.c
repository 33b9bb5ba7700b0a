// The AVX2 kernel: a tile of 2 rows of W × 16 tokens (two 8-lane halves, one token per lane).
// maddubs multiplies each token's packed bytes (q + 128, unsigned) by a weight row's 4 bytes
// broadcast (signed) into 16-bit pair sums and madd adds the pairs: the same exact per-token
// dot products as VNNI. Q8_0's weights span all of int8, where those pair sums could saturate,
// so for it the activations go back to signed and the sign moves onto them (|w|·sign(q, w)).
#include "Internal.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#pragma clang fp contract(off)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)

static inline __m256i broadcast_word(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

/// Σ of 32 unsigned bytes.
static inline int byte_sum(__m256i v) {
    __m256i s = _mm256_sad_epu8(v, _mm256_setzero_si256());
    __m128i h = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    return (int)(_mm_cvtsi128_si64(h) + _mm_extract_epi64(h, 1));
}

void qk_prepare_avx2(qk_type type, const uint8_t *w, int k, int o0, int rows, qk_tile *t) {
    int nb = k / 32, bb = type == QK_Q4_0 ? 18 : type == QK_Q4_1 ? 20 : 34;
    // Rows past the matrix: zero (their outputs are never stored).
    memset(t->w + (size_t)rows * k, 0, (size_t)(QK_TILE_ROWS - rows) * k);
    memset(t->dw + rows * nb, 0, sizeof(float) * (QK_TILE_ROWS - rows) * nb);
    memset(t->mw + rows * nb, 0, sizeof(float) * (QK_TILE_ROWS - rows) * nb);
    memset(t->bias + rows * nb, 0, sizeof(int32_t) * (QK_TILE_ROWS - rows) * nb);
    const __m128i low = _mm_set1_epi8(0x0F);
    const __m256i flip = _mm256_set1_epi8((char)0x80), eight = _mm256_set1_epi8(8);
    for (int i = 0; i < rows; i++) {
        const uint8_t *row = w + (size_t)(o0 + i) * nb * bb;
        for (int b = 0; b < nb; b++) {
            const uint8_t *block = row + (size_t)b * bb;
            int8_t *out = t->w + (size_t)i * k + b * 32;
            t->dw[i * nb + b] = qk_half_to_float((uint16_t)(block[0] | (block[1] << 8)));
            t->mw[i * nb + b] = type == QK_Q4_1 ? qk_half_to_float((uint16_t)(block[2] | (block[3] << 8))) : 0;
            __m256i v;
            int sum;
            if (type == QK_Q8_0) {
                v = _mm256_loadu_si256((const __m256i *)(block + 2));
                sum = byte_sum(_mm256_xor_si256(v, flip)) - 128 * 32;
            } else {
                __m128i raw = _mm_loadu_si128((const __m128i *)(block + (type == QK_Q4_1 ? 4 : 2)));
                v = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(raw, 4), low), _mm_and_si128(raw, low));
                sum = byte_sum(v);
                if (type == QK_Q4_0) { v = _mm256_sub_epi8(v, eight); sum -= 8 * 32; }
            }
            _mm256_storeu_si256((__m256i *)out, v);
            t->bias[i * nb + b] = -128 * sum;
        }
    }
}

/// Rows i0, i0 + 1 of the tile against one group of 16 tokens.
static void rows_pair(const qk_tile *t, int i0, qk_activations x, int k, int g, float out[2][QK_GROUP]) {
    int nb = k / 32;
    const uint8_t *p = x.packed + (size_t)g * nb * 8 * QK_GROUP * 4;
    const __m256i ones = _mm256_set1_epi16(1), flip = _mm256_set1_epi8((char)0x80);
    __m256 fa[2][2], fm[2][2];
    for (int i = 0; i < 2; i++) fa[i][0] = fa[i][1] = fm[i][0] = fm[i][1] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        __m256i ia[2][2];
        for (int i = 0; i < 2; i++) ia[i][0] = ia[i][1] = _mm256_set1_epi32(t->wide ? 0 : t->bias[(i0 + i) * nb + b]);
        for (int kq = 0; kq < 8; kq++) {
            const uint8_t *at = p + ((size_t)b * 8 + kq) * 64;
            __m256i xs[2] = {_mm256_loadu_si256((const __m256i *)at), _mm256_loadu_si256((const __m256i *)(at + 32))};
            if (t->wide) { xs[0] = _mm256_xor_si256(xs[0], flip); xs[1] = _mm256_xor_si256(xs[1], flip); }
            for (int i = 0; i < 2; i++) {
                __m256i w = broadcast_word(t->w + (size_t)(i0 + i) * k + b * 32 + kq * 4);
                for (int h = 0; h < 2; h++) {
                    __m256i pairs = t->wide ? _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(xs[h], w))
                                            : _mm256_maddubs_epi16(xs[h], w);
                    ia[i][h] = _mm256_add_epi32(ia[i][h], _mm256_madd_epi16(pairs, ones));
                }
            }
        }
        for (int h = 0; h < 2; h++) {
            __m256 d = _mm256_loadu_ps(x.dT + ((size_t)g * nb + b) * QK_GROUP + 8 * h);
            __m256 s = _mm256_loadu_ps(x.dsT + ((size_t)g * nb + b) * QK_GROUP + 8 * h);
            for (int i = 0; i < 2; i++) {
                fa[i][h] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(ia[i][h]), _mm256_mul_ps(d, _mm256_set1_ps(t->dw[(i0 + i) * nb + b])), fa[i][h]);
                if (t->has_min) fm[i][h] = _mm256_fmadd_ps(_mm256_set1_ps(t->mw[(i0 + i) * nb + b]), s, fm[i][h]);
            }
        }
    }
    for (int i = 0; i < 2; i++)
        for (int h = 0; h < 2; h++) _mm256_storeu_ps(out[i] + 8 * h, t->has_min ? _mm256_add_ps(fa[i][h], fm[i][h]) : fa[i][h]);
}

void qk_tile_avx2(const qk_tile *t, int rows, qk_activations x, int k, int tokens, float *y, int ldy, int o0, int accumulate) {
    int groups = (tokens + QK_GROUP - 1) / QK_GROUP;
    for (int g = 0; g < groups; g++) {
        int t0 = g * QK_GROUP, count = tokens - t0 < QK_GROUP ? tokens - t0 : QK_GROUP;
        for (int i0 = 0; i0 < rows; i0 += 2) {
            float out[2][QK_GROUP];
            rows_pair(t, i0, x, k, g, out);
            for (int i = i0; i < rows && i < i0 + 2; i++) qk_store(out[i - i0], count, y, ldy, t0, o0 + i, accumulate);
        }
    }
}

#pragma clang attribute pop
#else
void qk_prepare_avx2(qk_type type, const uint8_t *w, int k, int o0, int rows, qk_tile *t) { qk_prepare_scalar(type, w, k, o0, rows, t); }
void qk_tile_avx2(const qk_tile *t, int rows, qk_activations x, int k, int tokens, float *y, int ldy, int o0, int accumulate) {
    qk_tile_scalar(t, rows, x, k, tokens, y, ldy, o0, accumulate);
}
#endif

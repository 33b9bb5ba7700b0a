// Activation quantization, weight unpacking, the run-time choice of kernel, and the plain-C
// kernel every other kernel must equal bit for bit (Internal.h says how).
#include "Internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#pragma clang fp contract(off)

/// IEEE binary16 bits → float (subnormals, infinities and NaN included).
static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF, bits;
    if (exponent == 0x1F) {
        bits = sign | 0x7F800000 | (mantissa << 13);
    } else if (exponent != 0) {
        bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
    } else if (mantissa == 0) {
        bits = sign;
    } else {
        // A subnormal half is mantissa·2^−24, exact in float.
        float f = (float)mantissa * 5.9604644775390625e-8f;
        return sign ? -f : f;
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static uint16_t load_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static int block_bytes(qk_type type) {
    switch (type) {
    case QK_Q4_0: return 18;
    case QK_Q4_1: return 20;
    case QK_Q8_0: return 34;
    }
    return 0;
}

qk_isa qk_best_isa(void) {
    if (qk_supports(QK_ISA_AVX512_VNNI)) return QK_ISA_AVX512_VNNI;
    if (qk_supports(QK_ISA_AVX2)) return QK_ISA_AVX2;
    return QK_ISA_SCALAR;
}

int qk_supports(qk_isa isa) {
    switch (isa) {
    case QK_ISA_SCALAR: return 1;
#if defined(__x86_64__)
    case QK_ISA_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case QK_ISA_AVX512_VNNI:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")
            && __builtin_cpu_supports("avx512vnni");
#else
    default: return 0;
#endif
    }
    return 0;
}

void qk_quantize_rows(const float *x, int rows, int k, int ldx, qk_activations a) {
    int nb = k / 32;
    for (int r = 0; r < rows; r++) {
        for (int b = 0; b < nb; b++) {
            const float *v = x + (size_t)r * ldx + b * 32;
            float amax = 0;
            int finite = 1;
            for (int i = 0; i < 32; i++) {
                float m = fabsf(v[i]);
                if (!(m <= 3.4028235e38f)) finite = 0;  // inf or NaN
                amax = m > amax ? m : amax;
            }
            float d = amax / 127, inv = (finite && d > 0) ? 1 / d : 0;
            // A non-finite block keeps q = 0 and a non-finite scale, so NaN reaches the output.
            if (!finite) d = NAN;
            int8_t *q = a.q + (size_t)r * k + b * 32;
            int sum = 0;
            int32_t *g = a.groups + ((size_t)r * nb + b) * 8;
            for (int l = 0; l < 8; l++) {
                int group = 0;
                for (int i = 4 * l; i < 4 * l + 4; i++) {
                    int qi = (int)roundf(v[i] * inv);
                    q[i] = (int8_t)qi;
                    group += qi;
                }
                g[l] = -128 * group;
                sum += group;
            }
            a.d[(size_t)r * nb + b] = d;
            a.ds[(size_t)r * nb + b] = d * (float)sum;
        }
    }
}

/// Unpacks rows [o0, o0 + rows) of W into `t` (the rest of the tile zero); `bias` adds 128.
static void prepare_tile(qk_type type, const uint8_t *w, int k, int o0, int rows, int bias, qk_tile *t) {
    int nb = k / 32, bb = block_bytes(type);
    memset(t->w, bias ? 0x80 : 0, (size_t)QK_TILE_ROWS * k);
    memset(t->dw, 0, sizeof(float) * QK_TILE_ROWS * nb);
    memset(t->mw, 0, sizeof(float) * QK_TILE_ROWS * nb);
    t->has_min = type == QK_Q4_1;
    for (int i = 0; i < rows; i++) {
        const uint8_t *row = w + (size_t)(o0 + i) * nb * bb;
        for (int b = 0; b < nb; b++) {
            const uint8_t *block = row + (size_t)b * bb;
            int8_t *out = t->w + (size_t)i * k + b * 32;
            t->dw[i * nb + b] = half_to_float(load_u16(block));
            switch (type) {
            case QK_Q4_0:
                for (int j = 0; j < 16; j++) {
                    out[j] = (int8_t)((block[2 + j] & 0x0F) - 8);
                    out[j + 16] = (int8_t)((block[2 + j] >> 4) - 8);
                }
                break;
            case QK_Q4_1:
                t->mw[i * nb + b] = half_to_float(load_u16(block + 2));
                for (int j = 0; j < 16; j++) {
                    out[j] = (int8_t)(block[4 + j] & 0x0F);
                    out[j + 16] = (int8_t)(block[4 + j] >> 4);
                }
                break;
            case QK_Q8_0:
                memcpy(out, block + 2, 32);
                break;
            }
            if (bias) for (int j = 0; j < 32; j++) out[j] = (int8_t)((uint8_t)out[j] ^ 0x80);
        }
    }
}

void qk_linear(qk_isa isa, qk_type type, const void *w, int k, int o_begin, int o_end,
               qk_activations x, int tokens, float *y, int ldy, int accumulate) {
    if (!qk_supports(isa)) isa = QK_ISA_SCALAR;
    int nb = k / 32;
    int8_t *wbuf = malloc((size_t)QK_TILE_ROWS * k + 64);
    float *fbuf = malloc(sizeof(float) * 2 * QK_TILE_ROWS * nb + 64);
    qk_tile t = {wbuf, fbuf, fbuf + QK_TILE_ROWS * nb, 0};
    for (int o0 = o_begin; o0 < o_end; o0 += QK_TILE_ROWS) {
        int rows = o_end - o0 < QK_TILE_ROWS ? o_end - o0 : QK_TILE_ROWS;
        prepare_tile(type, w, k, o0, rows, isa == QK_ISA_AVX512_VNNI, &t);
        switch (isa) {
        case QK_ISA_AVX512_VNNI: qk_tile_avx512(&t, rows, x, k, tokens, y, ldy, o0, accumulate); break;
        case QK_ISA_AVX2: qk_tile_avx2(&t, rows, x, k, tokens, y, ldy, o0, accumulate); break;
        case QK_ISA_SCALAR: qk_tile_scalar(&t, rows, x, k, tokens, y, ldy, o0, accumulate); break;
        }
    }
    free(wbuf);
    free(fbuf);
}

static float minimum_term(const float *mw, const float *ds, int nb) {
    float lanes[8] = {0}, zero[8] = {0};
    for (int b = 0; b < nb; b++) lanes[b % 8] = fmaf(mw[b], ds[b], lanes[b % 8]);
    return qk_reduce8(lanes, zero);
}

void qk_tile_scalar(const qk_tile *t, int rows, qk_activations x, int k, int tokens, float *y, int ldy, int o0, int accumulate) {
    int nb = k / 32;
    for (int tok = 0; tok < tokens; tok++) {
        for (int i = 0; i < rows; i++) {
            float acc[2][8] = {{0}};
            for (int b = 0; b < nb; b++) {
                const int8_t *w = t->w + (size_t)i * k + b * 32, *q = x.q + (size_t)tok * k + b * 32;
                float scale = t->dw[i * nb + b] * x.d[(size_t)tok * nb + b];
                for (int l = 0; l < 8; l++) {
                    int32_t dot = 0;
                    for (int j = 4 * l; j < 4 * l + 4; j++) dot += (int32_t)w[j] * q[j];
                    acc[b & 1][l] = fmaf((float)dot, scale, acc[b & 1][l]);
                }
            }
            float v = qk_reduce8(acc[0], acc[1]);
            if (t->has_min) v = v + minimum_term(t->mw + i * nb, x.ds + (size_t)tok * nb, nb);
            float *out = y + (size_t)tok * ldy + o0 + i;
            *out = accumulate ? *out + v : v;
        }
    }
}

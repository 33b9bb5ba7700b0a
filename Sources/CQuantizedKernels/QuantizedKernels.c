// Activation quantization, weight unpacking, the run-time choice of kernel, and the plain-C
// kernel every other kernel must equal bit for bit (the header's definition).
#include "Internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#pragma clang fp contract(off)

float qk_half_to_float(uint16_t h) {
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

void qk_quantize_q8_0_transposed(const float *w, int rows, int inner, uint8_t *out) {
    // A band of 32 rows of W at a time (it stays in cache while its columns are read).
    for (int b = 0; b < rows / 32; b++) qk_quantize_q8_0_transposed_band(w + (size_t)b * 32 * inner, b, rows, inner, out);
}

void qk_quantize_q8_0_transposed_band(const float *band, int b, int rows, int inner, uint8_t *out) {
    int nb = rows / 32;
    for (int k = 0; k < inner; k++) {
        uint8_t *block = out + ((size_t)k * nb + b) * 34;
        float v[32], amax = 0;
        for (int i = 0; i < 32; i++) {
            v[i] = band[(size_t)i * inner + k];
            float m = fabsf(v[i]);
            amax = m > amax ? m : amax;
        }
        float d = amax / 127, inv = d != 0 ? 1 / d : 0;
        _Float16 h = (_Float16)d;
        memcpy(block, &h, 2);
        for (int i = 0; i < 32; i++) block[2 + i] = (uint8_t)(int8_t)roundf(v[i] * inv);
    }
}

void qk_quantize_block_scalar(const float *v, int8_t *q, uint8_t *packed_lane, float *d_out, float *ds_out) {
    float amax = 0;
    int finite = 1;
    for (int i = 0; i < 32; i++) {
        float m = fabsf(v[i]);
        if (!(m <= 3.4028235e38f)) finite = 0;  // inf or NaN
        amax = m > amax ? m : amax;
    }
    float d = amax / 127, inv = (finite && d > 0) ? 1 / d : 0;
    int sum = 0;
    for (int i = 0; i < 32; i++) {
        int qi = finite ? (int)nearbyintf(v[i] * inv) : 0;
        q[i] = (int8_t)qi;
        packed_lane[(i / 4) * QK_GROUP * 4 + i % 4] = (uint8_t)(qi + 128);
        sum += qi;
    }
    *d_out = finite ? d : NAN;
    *ds_out = *d_out * (float)sum;
}

void qk_quantize_rows(qk_isa isa, const float *x, int rows, int k, int ldx, qk_activations a) {
    if (!qk_supports(isa)) isa = QK_ISA_SCALAR;
    int nb = k / 32, groups = (rows + QK_GROUP - 1) / QK_GROUP;
    // Tokens past `rows` in the last group: q = 0 (packed 128), d = 0.
    int last = groups * QK_GROUP;
    for (int r = rows; r < last; r++) {
        int group = r / QK_GROUP, lane = r % QK_GROUP;
        for (int b = 0; b < nb; b++) {
            uint8_t *p = a.packed + ((size_t)group * nb + b) * 8 * QK_GROUP * 4 + lane * 4;
            for (int kq = 0; kq < 8; kq++) memset(p + kq * QK_GROUP * 4, 0x80, 4);
            a.dT[((size_t)group * nb + b) * QK_GROUP + lane] = 0;
            a.dsT[((size_t)group * nb + b) * QK_GROUP + lane] = 0;
        }
    }
    for (int r = 0; r < rows; r++) {
        int group = r / QK_GROUP, lane = r % QK_GROUP;
        for (int b = 0; b < nb; b++) {
            size_t at = (size_t)r * nb + b, across = ((size_t)group * nb + b) * QK_GROUP + lane;
            uint8_t *p = a.packed + ((size_t)group * nb + b) * 8 * QK_GROUP * 4 + lane * 4;
            const float *v = x + (size_t)r * ldx + b * 32;
            int8_t *q = a.q + (size_t)r * k + b * 32;
            if (isa == QK_ISA_AVX512_VNNI) qk_quantize_block_avx512(v, q, p, a.d + at, a.ds + at);
            else qk_quantize_block_scalar(v, q, p, a.d + at, a.ds + at);
            a.dT[across] = a.d[at];
            a.dsT[across] = a.ds[at];
        }
    }
}

void qk_prepare_scalar(qk_type type, const uint8_t *w, int k, int o0, int rows, qk_tile *t) {
    int nb = k / 32, bb = block_bytes(type);
    memset(t->w, 0, (size_t)QK_TILE_ROWS * k);
    memset(t->dw, 0, sizeof(float) * QK_TILE_ROWS * nb);
    memset(t->mw, 0, sizeof(float) * QK_TILE_ROWS * nb);
    memset(t->bias, 0, sizeof(int32_t) * QK_TILE_ROWS * nb);
    for (int i = 0; i < rows; i++) {
        const uint8_t *row = w + (size_t)(o0 + i) * nb * bb;
        for (int b = 0; b < nb; b++) {
            const uint8_t *block = row + (size_t)b * bb;
            int8_t *out = t->w + (size_t)i * k + b * 32;
            t->dw[i * nb + b] = qk_half_to_float(load_u16(block));
            switch (type) {
            case QK_Q4_0:
                for (int j = 0; j < 16; j++) {
                    out[j] = (int8_t)((block[2 + j] & 0x0F) - 8);
                    out[j + 16] = (int8_t)((block[2 + j] >> 4) - 8);
                }
                break;
            case QK_Q4_1:
                t->mw[i * nb + b] = qk_half_to_float(load_u16(block + 2));
                for (int j = 0; j < 16; j++) {
                    out[j] = (int8_t)(block[4 + j] & 0x0F);
                    out[j + 16] = (int8_t)(block[4 + j] >> 4);
                }
                break;
            case QK_Q8_0:
                memcpy(out, block + 2, 32);
                break;
            }
            int sum = 0;
            for (int j = 0; j < 32; j++) sum += out[j];
            t->bias[i * nb + b] = -128 * sum;
        }
    }
}

void qk_linear(qk_isa isa, qk_type type, const void *w, int k, int o_begin, int o_end,
               qk_activations x, int tokens, float *y, int ldy, int accumulate) {
    if (!qk_supports(isa)) isa = QK_ISA_SCALAR;
    int nb = k / 32;
    int8_t *wbuf = malloc((size_t)QK_TILE_ROWS * k + 64);
    float *fbuf = malloc(sizeof(float) * 2 * QK_TILE_ROWS * nb + 64);
    int32_t *bbuf = malloc(sizeof(int32_t) * QK_TILE_ROWS * nb + 64);
    qk_tile t = {wbuf, fbuf, fbuf + QK_TILE_ROWS * nb, bbuf, type == QK_Q4_1, type == QK_Q8_0};
    for (int o0 = o_begin; o0 < o_end; o0 += QK_TILE_ROWS) {
        int rows = o_end - o0 < QK_TILE_ROWS ? o_end - o0 : QK_TILE_ROWS;
        if (isa == QK_ISA_SCALAR) qk_prepare_scalar(type, w, k, o0, rows, &t);
        else qk_prepare_avx2(type, w, k, o0, rows, &t);
        switch (isa) {
        case QK_ISA_AVX512_VNNI: qk_tile_avx512(&t, rows, x, k, tokens, y, ldy, o0, accumulate); break;
        case QK_ISA_AVX2: qk_tile_avx2(&t, rows, x, k, tokens, y, ldy, o0, accumulate); break;
        case QK_ISA_SCALAR: qk_tile_scalar(&t, rows, x, k, tokens, y, ldy, o0, accumulate); break;
        }
    }
    free(wbuf);
    free(fbuf);
    free(bbuf);
}

void qk_tile_scalar(const qk_tile *t, int rows, qk_activations x, int k, int tokens, float *y, int ldy, int o0, int accumulate) {
    int nb = k / 32;
    for (int tok = 0; tok < tokens; tok++) {
        for (int i = 0; i < rows; i++) {
            float acc = 0, min = 0;
            for (int b = 0; b < nb; b++) {
                const int8_t *w = t->w + (size_t)i * k + b * 32, *q = x.q + (size_t)tok * k + b * 32;
                int32_t dot = 0;
                for (int j = 0; j < 32; j++) dot += (int32_t)w[j] * q[j];
                acc = fmaf((float)dot, t->dw[i * nb + b] * x.d[(size_t)tok * nb + b], acc);
                min = fmaf(t->mw[i * nb + b], x.ds[(size_t)tok * nb + b], min);
            }
            if (t->has_min) acc = acc + min;
            qk_store(&acc, 1, y, ldy, tok, o0 + i, accumulate);
        }
    }
}

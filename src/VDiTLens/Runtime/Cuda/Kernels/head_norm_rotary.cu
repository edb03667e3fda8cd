// Per-head norm of x [rows, DIM] (DIM = heads · HEAD_DIM), one 16-byte vector per thread, HEAD_DIM/8 threads per
// head reducing with warp shuffles. NORM 0: RMS (x·rsqrt(mean x² + eps)); NORM 1: LayerNorm. Then ·w (+b), float32
// [HEAD_DIM] or null. Rotary on the rows whose index within their batch lies in [rope_start, rope_start + rope_count):
// ROPE 1: cos/sin [tokens, HEAD_DIM] (one value per element; even' = e·c₀ − o·s₀, odd' = o·c₁ + e·s₁);
// ROPE 2: cos/sin [tokens, heads, HEAD_DIM/2] (one value per pair; even' = e·c − o·s, odd' = e·s + o·c).
// Defines: DIM, HEAD_DIM (8·2^k, at most 256), NORM, ROPE, IS_BF16.
#include "prelude.cuh"

extern "C" __global__ void __launch_bounds__(256) head_norm_rotary(
    const uint4* __restrict__ x, uint4* __restrict__ out, const float* __restrict__ w, const float* __restrict__ b,
    const float* __restrict__ cos_table, const float* __restrict__ sin_table,
    i64 vectors, i64 rows_per_batch, i64 rope_start, i64 rope_count, float eps)
{
    const int G = HEAD_DIM / 8;
    const i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x;
    const bool active = i < vectors;
    float v[8];
    if (active) {
        unpack(x[i], v);
    } else {
#pragma unroll
        for (int j = 0; j < 8; ++j) v[j] = 0.f;
    }
    const int c0 = active ? (int)(i % (DIM / 8)) * 8 : 0;
    const int d0 = c0 % HEAD_DIM;
    float mean = 0.f;
#if NORM == 1
    float s = 0.f;
#pragma unroll
    for (int j = 0; j < 8; ++j) s += v[j];
#pragma unroll
    for (int o = G / 2; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
    mean = s / HEAD_DIM;
#endif
    float ss = 0.f;
#pragma unroll
    for (int j = 0; j < 8; ++j) { const float d = v[j] - mean; ss += d * d; }
#pragma unroll
    for (int o = G / 2; o > 0; o >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, o);
    const float r = rsqrtf(ss / HEAD_DIM + eps);
    if (!active) return;
    float y[8];
#pragma unroll
    for (int j = 0; j < 8; ++j) {
        float t = (v[j] - mean) * r;
        if (w) t = t * w[d0 + j];
        if (b) t = t + b[d0 + j];
        y[j] = t;
    }
#if ROPE != 0
    if (cos_table) {
        const i64 token = (i / (DIM / 8)) % rows_per_batch - rope_start;
        if (token >= 0 && token < rope_count) {
#if ROPE == 1
            const float* ct = cos_table + token * HEAD_DIM + d0;
            const float* st = sin_table + token * HEAD_DIM + d0;
#pragma unroll
            for (int p = 0; p < 4; ++p) {
                const float e = y[2 * p], o = y[2 * p + 1];
                y[2 * p] = e * ct[2 * p] - o * st[2 * p];
                y[2 * p + 1] = o * ct[2 * p + 1] + e * st[2 * p + 1];
            }
#else
            const i64 pair0 = (token * (DIM / HEAD_DIM) + c0 / HEAD_DIM) * (HEAD_DIM / 2) + d0 / 2;
#pragma unroll
            for (int p = 0; p < 4; ++p) {
                const float e = y[2 * p], o = y[2 * p + 1];
                const float c = cos_table[pair0 + p], s2 = sin_table[pair0 + p];
                y[2 * p] = e * c - o * s2;
                y[2 * p + 1] = e * s2 + o * c;
            }
#endif
        }
    }
#endif
    out[i] = pack(y);
}

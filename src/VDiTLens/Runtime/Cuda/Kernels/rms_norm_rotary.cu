// RMS norm over the whole row (all heads) with gain w (same 16-bit type as x), then, when cos/sin are given
// (float32 [tokens, HEAD_DIM], interleaved pairs), the rotary embedding of each head; out has x's layout.
// Defines: DIM, THREADS, VPT, IS_BF16 (as modulated_layer_norm) and HEAD_DIM.
#include "prelude.cuh"

extern "C" __global__ void __launch_bounds__(THREADS) rms_norm_rotary(
    const uint4* __restrict__ x, uint4* __restrict__ out, const u16* __restrict__ w,
    const float* __restrict__ cos_table, const float* __restrict__ sin_table, i64 tokens, float eps)
{
    __shared__ float shared[32];
    const i64 row = blockIdx.x;
    const i64 token = row % tokens;
    const uint4* xr = x + row * (DIM / 8);
    float v[VPT][8];
    float ss = 0.f;
#pragma unroll
    for (int i = 0; i < VPT; ++i) {
        unpack(xr[threadIdx.x + i * THREADS], v[i]);
#pragma unroll
        for (int j = 0; j < 8; ++j) ss += v[i][j] * v[i][j];
    }
    const float r = rsqrtf(block_sum(ss, shared) / DIM + eps);
#pragma unroll
    for (int i = 0; i < VPT; ++i) {
        const int c0 = (threadIdx.x + i * THREADS) * 8;
        float y[8];
#pragma unroll
        for (int j = 0; j < 8; ++j) y[j] = v[i][j] * r * to_f32(w[c0 + j]);
        if (cos_table) {
            const int d0 = c0 % HEAD_DIM;
            const float* ct = cos_table + token * HEAD_DIM + d0;
            const float* st = sin_table + token * HEAD_DIM + d0;
#pragma unroll
            for (int p = 0; p < 4; ++p) {
                const float e = y[2 * p], o = y[2 * p + 1];
                const float c = ct[2 * p], s = st[2 * p + 1];
                y[2 * p] = e * c - o * s;
                y[2 * p + 1] = e * s + o * c;
            }
        }
        out[row * (DIM / 8) + threadIdx.x + i * THREADS] = pack(y);
    }
}

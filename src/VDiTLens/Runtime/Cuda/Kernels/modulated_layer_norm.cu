// out = (LayerNorm(x)·w + b)·(1 + scale[batch]) + shift[batch], row by row; w, b, scale/shift may be null.
// Defines: DIM (row length, a multiple of 8), THREADS (threads per row block, a multiple of 32), VPT (16-byte
// vectors per thread, DIM = 8·THREADS·VPT), IS_BF16. All arithmetic is float32; each output is rounded once.
#include "prelude.cuh"

extern "C" __global__ void __launch_bounds__(THREADS) modulated_layer_norm(
    const uint4* __restrict__ x, uint4* __restrict__ out, const float* __restrict__ w, const float* __restrict__ b,
    const float* __restrict__ scale, const float* __restrict__ shift, i64 rows_per_batch, float eps)
{
    __shared__ float shared[32];
    const i64 row = blockIdx.x;
    const i64 batch = row / rows_per_batch;
    const uint4* xr = x + row * (DIM / 8);
    float v[VPT][8];
    float s = 0.f;
#pragma unroll
    for (int i = 0; i < VPT; ++i) {
        unpack(xr[threadIdx.x + i * THREADS], v[i]);
#pragma unroll
        for (int j = 0; j < 8; ++j) s += v[i][j];
    }
    const float mean = block_sum(s, shared) / DIM;
    float ss = 0.f;
#pragma unroll
    for (int i = 0; i < VPT; ++i)
#pragma unroll
        for (int j = 0; j < 8; ++j) { float d = v[i][j] - mean; ss += d * d; }
    const float rstd = rsqrtf(block_sum(ss, shared) / DIM + eps);
#pragma unroll
    for (int i = 0; i < VPT; ++i) {
        const int c0 = (threadIdx.x + i * THREADS) * 8;
        float y[8];
#pragma unroll
        for (int j = 0; j < 8; ++j) {
            const int c = c0 + j;
            float t = (v[i][j] - mean) * rstd;
            if (w) t = t * w[c];
            if (b) t = t + b[c];
            if (scale) t = t * (1.f + scale[batch * DIM + c]) + shift[batch * DIM + c];
            y[j] = t;
        }
        out[row * (DIM / 8) + threadIdx.x + i * THREADS] = pack(y);
    }
}

// out = (x, when given) + RMS(y)·s[batch], row by row: RMS over the row in float32 (no gain), s float32
// [batches, DIM]. Row launch as modulated_layer_norm (defines DIM, THREADS, VPT, IS_BF16).
#include "prelude.cuh"

extern "C" __global__ void __launch_bounds__(THREADS) rms_modulate(
    const uint4* __restrict__ x, const uint4* __restrict__ y, uint4* __restrict__ out, const float* __restrict__ scale,
    i64 rows_per_batch, float eps)
{
    __shared__ float shared[32];
    const i64 row = blockIdx.x;
    const i64 batch = row / rows_per_batch;
    const uint4* yr = y + row * (DIM / 8);
    float v[VPT][8];
    float ss = 0.f;
#pragma unroll
    for (int i = 0; i < VPT; ++i) {
        unpack(yr[threadIdx.x + i * THREADS], v[i]);
#pragma unroll
        for (int j = 0; j < 8; ++j) ss += v[i][j] * v[i][j];
    }
    const float r = rsqrtf(block_sum(ss, shared) / DIM + eps);
#pragma unroll
    for (int i = 0; i < VPT; ++i) {
        const i64 at = row * (DIM / 8) + threadIdx.x + i * THREADS;
        const int c0 = (threadIdx.x + i * THREADS) * 8;
        float a[8];
        if (x) {
            unpack(x[at], a);
        } else {
#pragma unroll
            for (int j = 0; j < 8; ++j) a[j] = 0.f;
        }
#pragma unroll
        for (int j = 0; j < 8; ++j) a[j] = a[j] + v[i][j] * r * scale[batch * DIM + c0 + j];
        out[at] = pack(a);
    }
}

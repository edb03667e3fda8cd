// out = x + y·gate[batch] (gate float32 [batches, DIM]), element by element. Defines: DIM, IS_BF16.
#include "prelude.cuh"

extern "C" __global__ void gated_residual(
    const uint4* __restrict__ x, const uint4* __restrict__ y, const float* __restrict__ gate, uint4* __restrict__ out,
    i64 vectors, i64 rows_per_batch)
{
    for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < vectors; i += (i64)gridDim.x * blockDim.x) {
        const i64 row = i / (DIM / 8);
        const int c0 = (int)(i % (DIM / 8)) * 8;
        const float* g = gate + (row / rows_per_batch) * DIM + c0;
        float a[8], d[8];
        unpack(x[i], a);
        unpack(y[i], d);
#pragma unroll
        for (int j = 0; j < 8; ++j) a[j] = a[j] + d[j] * g[j];
        out[i] = pack(a);
    }
}

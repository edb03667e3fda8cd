namespace VDiTLens.Runtime.Cuda;

/// <summary>
/// CUDA C source of the fused element-wise kernels. Compile-time defines: DIM (row length, a multiple of 8),
/// THREADS (threads per row block, a multiple of 32), VPT (16-byte vectors per thread, DIM = 8·THREADS·VPT),
/// IS_BF16 (1: bfloat16, 0: float16) and, for the rotary kernel, HEAD_DIM. All arithmetic is float32; each
/// output is rounded once to the 16-bit type. No CUDA headers are needed (conversions are PTX instructions).
/// </summary>
internal static class ElementwiseSource
{
    public const string Common = """
typedef unsigned short u16;
typedef long long i64;

__device__ __forceinline__ float to_f32(u16 h) {
#if IS_BF16
    return __uint_as_float(((unsigned)h) << 16);
#else
    float f; asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h)); return f;
#endif
}

__device__ __forceinline__ u16 from_f32(float f) {
    u16 h;
#if IS_BF16
    asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(h) : "f"(f));
#else
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
#endif
    return h;
}

__device__ __forceinline__ void unpack(uint4 q, float* v) {
    unsigned w[4] = { q.x, q.y, q.z, q.w };
#pragma unroll
    for (int i = 0; i < 4; ++i) { v[2 * i] = to_f32((u16)(w[i] & 0xffff)); v[2 * i + 1] = to_f32((u16)(w[i] >> 16)); }
}

__device__ __forceinline__ uint4 pack(const float* v) {
    unsigned w[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) w[i] = (unsigned)from_f32(v[2 * i]) | ((unsigned)from_f32(v[2 * i + 1]) << 16);
    return make_uint4(w[0], w[1], w[2], w[3]);
}

#ifdef THREADS
__device__ __forceinline__ float block_sum(float v, float* shared) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    __syncthreads();
    if ((threadIdx.x & 31) == 0) shared[threadIdx.x >> 5] = v;
    __syncthreads();
    float total = 0.f;
#pragma unroll
    for (int i = 0; i < THREADS / 32; ++i) total += shared[i];
    return total;
}
#endif
""";

    /// <summary>
    /// out = (LayerNorm(x)·w + b)·(1 + scale[batch]) + shift[batch], row by row; w, b, scale/shift may be null.
    /// </summary>
    public const string ModulatedLayerNorm = Common + "\n" + """
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
""";

    /// <summary>out = x + y·gate[batch] (gate float32 [batches, DIM]), element by element.</summary>
    public const string GatedResidual = Common + "\n" + """
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
""";

    /// <summary>
    /// RMS norm over the whole row (all heads) with gain w (same 16-bit type as x), then, when cos/sin are given
    /// (float32 [tokens, HEAD_DIM], interleaved pairs), the rotary embedding of each head; out has x's layout.
    /// </summary>
    public const string RmsNormRotary = Common + "\n" + """
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
""";
}

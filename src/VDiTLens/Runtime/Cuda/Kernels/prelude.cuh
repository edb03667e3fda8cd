// Shared by every kernel: 16-bit <-> float32 conversions as PTX instructions (no CUDA headers needed), 16-byte
// vector pack/unpack and, when THREADS is defined, a block-wide sum. Compile-time define IS_BF16 (1: bfloat16,
// 0: float16). cvt.rn.bf16.f32 exists from sm_80 on: a bf16 variant does not compile for older devices, and the
// caller then runs its TorchSharp reference.
#pragma once

#ifdef VDITLENS_FORCED_FAILURE
#error "this kernel was made to fail to compile by VDITLENS_FAIL_KERNEL"
#endif

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

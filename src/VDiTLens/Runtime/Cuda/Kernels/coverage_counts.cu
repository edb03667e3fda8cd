// CUDA C source of the top-k coverage kernel: for each row of float32 raw logits (multiplied by scale in the
// kernel), the smallest number of keys whose probabilities p = exp(scale·logit − lse) sum to at least each of four
// levels, without sorting. A first sweep computes the row's log-partition lse (online max and sum). Then a radix select
// on the bit patterns of p (non-negative floats order like their bits), 8 bits per round, most significant first: each
// round builds, per level, a histogram of count and mass of the elements still matching that level's prefix, and keeps
// the bin where the mass above reaches the level. After four rounds the threshold value t is exact; the count is
// #(p > t) + ⌈(level − mass(p > t)) / t⌉ (ties at t are equal, so that many of them are needed). One block of THREADS
// threads per row; the row is read from global memory (L2) once per sweep. With AGGREGATE=1 the first round (where
// most elements of a warp fall into the same few bins) sums equal bins within a warp before one shared-memory atomic
// per bin. The tests hold the same algorithm in C# (CoverageKernelEmulation) and check it against the sort.
// Defines: THREADS (a multiple of 32), AGGREGATE (1 needs __match_any_sync, sm_70 and newer).
#include "prelude.cuh"

#define LEVELS 4
#define FULL 0xffffffffu
#define NEG_INF __uint_as_float(0xff800000u)

// Adds (1, p) to bin `digit` of count/mass; digit < 0 adds nothing. Called by all 32 lanes of a warp together.
__device__ __forceinline__ void add_to_bin(unsigned* count, float* mass, int digit, float p)
{
#if AGGREGATE
    // Lanes holding the same digit sum their p by a tree over their ranks among those lanes; the lowest adds for all.
    const unsigned lane = threadIdx.x & 31u;
    const unsigned peers = __match_any_sync(FULL, digit);
    unsigned rank = __popc(peers & ((1u << lane) - 1u));
    unsigned above = peers & (0xfffffffeu << lane);
    float sum = p;
    while (__any_sync(FULL, above != 0u)) {
        const int next = __ffs(above);
        const float t = __shfl_sync(FULL, sum, next ? next - 1 : (int)lane);
        if (next) sum += t;
        above &= ~__ballot_sync(FULL, rank & 1u);
        rank >>= 1;
    }
    if (digit >= 0 && lane == (unsigned)(__ffs(peers) - 1)) {
        atomicAdd(&count[digit], (unsigned)__popc(peers));
        atomicAdd(&mass[digit], sum);
    }
#else
    if (digit >= 0) {
        atomicAdd(&count[digit], 1u);
        atomicAdd(&mass[digit], p);
    }
#endif
}

__device__ __forceinline__ void merge_lse(float& m, float& s, float m2, float s2)
{
    const float top = fmaxf(m, m2);
    if (top == NEG_INF) return;
    s = s * expf(m - top) + s2 * expf(m2 - top);
    m = top;
}

extern "C" __global__ void __launch_bounds__(THREADS) coverage_counts(
    const float* __restrict__ logits, float* __restrict__ out, i64 lk, float scale,
    float level0, float level1, float level2, float level3)
{
    __shared__ unsigned hist_count[LEVELS][256];
    __shared__ float hist_mass[LEVELS][256];
    __shared__ unsigned prefix[LEVELS];
    __shared__ unsigned count_above[LEVELS];
    __shared__ unsigned tied[LEVELS];
    __shared__ float mass_above[LEVELS];
    __shared__ float warp_max[THREADS / 32], warp_sum[THREADS / 32];
    __shared__ float row_lse;
    const i64 row = blockIdx.x;
    const float* s = logits + row * lk;
    const int tid = threadIdx.x;
    if (tid < LEVELS) { prefix[tid] = 0u; count_above[tid] = 0u; tied[tid] = 0u; mass_above[tid] = 0.f; }

    // Log-partition of the scaled row.
    float m = NEG_INF, z = 0.f;
    for (i64 i = tid; i < lk; i += THREADS) {
        const float x = s[i] * scale;
        if (x > m) { z = z * expf(m - x) + 1.f; m = x; }
        else if (x > NEG_INF) z += expf(x - m);
    }
    for (int offset = 16; offset > 0; offset >>= 1) {
        const float m2 = __shfl_down_sync(FULL, m, offset), z2 = __shfl_down_sync(FULL, z, offset);
        merge_lse(m, z, m2, z2);
    }
    if ((tid & 31) == 0) { warp_max[tid >> 5] = m; warp_sum[tid >> 5] = z; }
    __syncthreads();
    if (tid == 0) {
        for (int w = 1; w < THREADS / 32; ++w) merge_lse(m, z, warp_max[w], warp_sum[w]);
        row_lse = z > 0.f ? m + logf(z) : NEG_INF;
    }
    __syncthreads();
    const float lse = row_lse;

    for (int round = 0; round < 4; ++round) {
        const int shift = 24 - 8 * round;
        for (int i = tid; i < LEVELS * 256; i += THREADS) { (&hist_count[0][0])[i] = 0u; (&hist_mass[0][0])[i] = 0.f; }
        __syncthreads();
        // Warp-uniform trip count, so every lane takes part in the warp-wide steps of add_to_bin.
        for (i64 base = 0; base < lk; base += THREADS) {
            const i64 i = base + tid;
            float p = i < lk ? expf(s[i] * scale - lse) : 0.f;
            if (!(p > 0.f)) p = 0.f;
            const unsigned bits = __float_as_uint(p);
            const int digit = i < lk ? (int)((bits >> shift) & 255u) : -1;
            if (round == 0) {
                add_to_bin(hist_count[0], hist_mass[0], digit, p);
            } else if (digit >= 0) {
#pragma unroll
                for (int l = 0; l < LEVELS; ++l)
                    if ((bits >> (shift + 8)) == (prefix[l] >> (shift + 8))) {
                        atomicAdd(&hist_count[l][digit], 1u);
                        atomicAdd(&hist_mass[l][digit], p);
                    }
            }
        }
        __syncthreads();
        if (tid < LEVELS) {
            const float levels[LEVELS] = { level0, level1, level2, level3 };
            const int h = round == 0 ? 0 : tid;
            float acc = mass_above[tid];
            unsigned above = count_above[tid];
            int d = 255;
            for (; d > 0; --d) {
                const float bin = hist_mass[h][d];
                if (acc + bin >= levels[tid]) break;
                acc += bin;
                above += hist_count[h][d];
            }
            prefix[tid] |= ((unsigned)d) << shift;
            mass_above[tid] = acc;
            count_above[tid] = above;
            tied[tid] = hist_count[h][d];
        }
        __syncthreads();
    }
    if (tid < LEVELS) {
        const float levels[LEVELS] = { level0, level1, level2, level3 };
        const float t = __uint_as_float(prefix[tid]);
        unsigned need = tied[tid];
        if (t > 0.f) {
            const float k = ceilf((levels[tid] - mass_above[tid]) / t);
            need = k < 1.f ? 1u : (k > (float)tied[tid] ? tied[tid] : (unsigned)k);
        }
        const float total = (float)(count_above[tid] + need);
        out[row * LEVELS + tid] = total > (float)lk ? (float)lk : total;
    }
}

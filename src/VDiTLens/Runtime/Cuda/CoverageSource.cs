namespace VDiTLens.Runtime.Cuda;

/// <summary>
/// CUDA C source of the top-k coverage kernel: for each row of float32 logits and its log-partition, the smallest
/// number of keys whose probabilities p = exp(logit − lse) sum to at least each of four levels, without sorting.
/// A radix select on the bit patterns of p (non-negative floats order like their bits), 8 bits per round, most
/// significant first: each round builds, per level, a histogram of count and mass of the elements still matching that
/// level's prefix, and keeps the bin where the mass above reaches the level. After four rounds the threshold value t
/// is exact; the count is #(p > t) + ⌈(level − mass(p > t)) / t⌉ (ties at t are equal, so that many of them are
/// needed). One block of THREADS threads per row; the row is read from global memory (L2) once per round.
/// </summary>
internal static class CoverageSource
{
    public const int Levels = 4;

    public const string Source = """
typedef long long i64;
#define LEVELS 4

extern "C" __global__ void __launch_bounds__(THREADS) coverage_counts(
    const float* __restrict__ logits, const float* __restrict__ lse, float* __restrict__ out, i64 lk,
    float level0, float level1, float level2, float level3)
{
    __shared__ unsigned hist_count[LEVELS][256];
    __shared__ float hist_mass[LEVELS][256];
    __shared__ unsigned prefix[LEVELS];
    __shared__ unsigned count_above[LEVELS];
    __shared__ unsigned tied[LEVELS];
    __shared__ float mass_above[LEVELS];
    const i64 row = blockIdx.x;
    const float* s = logits + row * lk;
    const float m = lse[row];
    const int tid = threadIdx.x;
    if (tid < LEVELS) { prefix[tid] = 0u; count_above[tid] = 0u; tied[tid] = 0u; mass_above[tid] = 0.f; }
    for (int round = 0; round < 4; ++round) {
        const int shift = 24 - 8 * round;
        for (int i = tid; i < LEVELS * 256; i += THREADS) { (&hist_count[0][0])[i] = 0u; (&hist_mass[0][0])[i] = 0.f; }
        __syncthreads();
        for (i64 i = tid; i < lk; i += THREADS) {
            float p = expf(s[i] - m);
            if (!(p > 0.f)) p = 0.f;
            const unsigned bits = __float_as_uint(p);
            const int digit = (int)((bits >> shift) & 255u);
            if (round == 0) {
                atomicAdd(&hist_count[0][digit], 1u);
                atomicAdd(&hist_mass[0][digit], p);
            } else {
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
""";
}

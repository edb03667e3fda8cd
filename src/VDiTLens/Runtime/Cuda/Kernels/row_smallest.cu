// CUDA C source of the per-row bottom-m selection: for each row of float32 values and its count m (int64, one per
// row, clamped to [0, n]), a bool mask true on the m smallest entries, ties taken by lower index first: exactly the
// set of the first m positions of a stable ascending sort. No sort: the m-th smallest value t comes from a radix
// select on order-preserving 32-bit keys (sign-flipped bit patterns; −0 keyed as +0, every NaN as one key above
// +inf, as the sort orders them), 8 bits per round, most significant first: each round builds a 256-bin histogram
// of the keys still matching the prefix and keeps the bin where the running count reaches the rank still sought.
// After four rounds t's key is exact and `need` = how many of the entries equal to t are taken. A last sweep writes
// the mask in index order, numbering the ties by a block-wide prefix count (warp ballots). One block of THREADS
// threads per row; the row is read from global memory (L2) once per round and once for the mask.
// Defines: THREADS (a multiple of 32, at most 1024). __match_any_sync: sm_70 and newer.
#include "prelude.cuh"

#define FULL 0xffffffffu

__device__ __forceinline__ unsigned order_key(float f)
{
    if (f != f) return 0xffffffffu;          // NaN: above +inf (key 0xff800000)
    if (f == 0.f) return 0x80000000u;        // −0 and +0 are equal
    const unsigned u = __float_as_uint(f);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

extern "C" __global__ void __launch_bounds__(THREADS) row_smallest(
    const float* __restrict__ values, const i64* __restrict__ counts, unsigned char* __restrict__ mask, i64 n)
{
    __shared__ unsigned hist[256];
    __shared__ unsigned prefix, rank, warp_ties[THREADS / 32];
    const i64 row = blockIdx.x;
    const float* v = values + row * n;
    unsigned char* out = mask + row * n;
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    i64 m = counts[row];
    m = m < 0 ? 0 : (m > n ? n : m);
    if (m == 0) {
        for (i64 i = tid; i < n; i += THREADS) out[i] = 0;
        return;
    }
    if (tid == 0) { prefix = 0u; rank = (unsigned)m; } // rank: 1-based rank of t among the keys matching the prefix
    for (int round = 0; round < 4; ++round) {
        const int shift = 24 - 8 * round;
        for (int i = tid; i < 256; i += THREADS) hist[i] = 0u;
        __syncthreads();
        const unsigned high = round == 0 ? 0u : prefix >> (shift + 8);
        // Warp-uniform trip count: lanes with the same digit add once, together (most keys of a row share a few
        // leading digits, which would serialise per-element shared-memory atomics).
        for (i64 base = 0; base < n; base += THREADS) {
            const i64 i = base + tid;
            const unsigned key = i < n ? order_key(v[i]) : 0u;
            const int digit = i < n && (round == 0 || (key >> (shift + 8)) == high) ? (int)((key >> shift) & 255u) : -1;
            const unsigned peers = __match_any_sync(FULL, digit);
            if (digit >= 0 && lane == __ffs(peers) - 1) atomicAdd(&hist[digit], (unsigned)__popc(peers));
        }
        __syncthreads();
        if (tid == 0) {
            unsigned below = 0u, r = rank;
            int d = 0;
            for (; d < 255; ++d) {
                if (below + hist[d] >= r) break;
                below += hist[d];
            }
            prefix |= ((unsigned)d) << shift;
            rank = r - below;
        }
        __syncthreads();
    }
    const unsigned t = prefix, need = rank; // entries with key t: the first `need` of them (index order) are in
    unsigned taken = 0u;                    // ties before this tile
    for (i64 base = 0; base < n; base += THREADS) {
        const i64 i = base + tid;
        const unsigned key = i < n ? order_key(v[i]) : 0u;
        const bool tie = i < n && key == t;
        const unsigned ballot = __ballot_sync(FULL, tie);
        if (lane == 0) warp_ties[warp] = __popc(ballot);
        __syncthreads();
        unsigned before = taken + __popc(ballot & ((1u << lane) - 1u));
        for (int w = 0; w < warp; ++w) before += warp_ties[w];
        if (i < n) out[i] = (key < t || (tie && before < need)) ? 1 : 0;
        unsigned tile = 0u;
        for (int w = 0; w < THREADS / 32; ++w) tile += warp_ties[w];
        __syncthreads();
        taken += tile;
    }
}

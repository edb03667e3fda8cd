namespace VDiTLens.Tests.Runtime.Cuda;

/// <summary>
/// The bottom-m selection kernel's algorithm (<c>Runtime/Cuda/Kernels/row_smallest.cu</c>) step for step in C#, one row
/// at a time: order-preserving keys, four 8-bit radix rounds for the m-th smallest key, then ties numbered in index
/// order. The CPU tests check this against the stable sort, so the kernel's logic is tested where no GPU is.
/// </summary>
internal static class RowSmallestKernelEmulation
{
    public static uint OrderKey(float f)
    {
        if (float.IsNaN(f)) return 0xffffffffu;
        if (f == 0f) return 0x80000000u;
        uint u = BitConverter.SingleToUInt32Bits(f);
        return (u & 0x80000000u) != 0 ? ~u : u | 0x80000000u;
    }

    public static bool[] Mask(float[] row, long m)
    {
        int n = row.Length;
        m = Math.Clamp(m, 0, n);
        var mask = new bool[n];
        if (m == 0) return mask;
        var keys = row.Select(OrderKey).ToArray();
        uint prefix = 0u, rank = (uint)m;
        for (int round = 0; round < 4; round++)
        {
            int shift = 24 - 8 * round;
            var hist = new uint[256];
            uint high = round == 0 ? 0u : prefix >> (shift + 8);
            foreach (uint key in keys)
                if (round == 0 || key >> (shift + 8) == high) hist[(key >> shift) & 255u]++;
            uint below = 0u;
            int d = 0;
            for (; d < 255; d++)
            {
                if (below + hist[d] >= rank) break;
                below += hist[d];
            }
            prefix |= (uint)d << shift;
            rank -= below;
        }
        uint taken = 0u;
        for (int i = 0; i < n; i++)
        {
            bool tie = keys[i] == prefix;
            mask[i] = keys[i] < prefix || (tie && taken < rank);
            if (tie) taken++;
        }
        return mask;
    }
}

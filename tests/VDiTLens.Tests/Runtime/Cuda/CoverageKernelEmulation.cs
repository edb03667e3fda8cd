namespace VDiTLens.Tests.Runtime.Cuda;

/// <summary>
/// The coverage kernel's algorithm (<c>Runtime/Cuda/Kernels/coverage_counts.cu</c>) step for step in C# float arithmetic, one row at a time:
/// online log-partition of the scaled row, four 8-bit radix rounds over the bit patterns of p, ties resolved by
/// division. The CPU tests check this against the sort, so the kernel's logic is tested where no GPU is.
/// </summary>
internal static class CoverageKernelEmulation
{
    public static float[] Counts(float[] row, float scale, float[] levels)
    {
        int n = levels.Length;
        float m = float.NegativeInfinity, z = 0f;
        foreach (var raw in row)
        {
            float x = raw * scale;
            if (x > m) { z = z * MathF.Exp(m - x) + 1f; m = x; }
            else if (x > float.NegativeInfinity) z += MathF.Exp(x - m);
        }
        float lse = z > 0f ? m + MathF.Log(z) : float.NegativeInfinity;
        var p = row.Select(raw => MathF.Exp(raw * scale - lse)).Select(v => v > 0f ? v : 0f).ToArray();

        var prefix = new uint[n];
        var countAbove = new uint[n];
        var tied = new uint[n];
        var massAbove = new float[n];
        for (int round = 0; round < 4; round++)
        {
            int shift = 24 - 8 * round;
            var count = new uint[n, 256];
            var mass = new float[n, 256];
            foreach (var v in p)
            {
                uint bits = BitConverter.SingleToUInt32Bits(v);
                int digit = (int)((bits >> shift) & 255u);
                if (round == 0) { count[0, digit]++; mass[0, digit] += v; continue; }
                for (int l = 0; l < n; l++)
                    if (bits >> (shift + 8) == prefix[l] >> (shift + 8)) { count[l, digit]++; mass[l, digit] += v; }
            }
            for (int l = 0; l < n; l++)
            {
                int h = round == 0 ? 0 : l;
                float acc = massAbove[l];
                uint above = countAbove[l];
                int d = 255;
                for (; d > 0; --d)
                {
                    float bin = mass[h, d];
                    if (acc + bin >= levels[l]) break;
                    acc += bin;
                    above += count[h, d];
                }
                prefix[l] |= (uint)d << shift;
                massAbove[l] = acc;
                countAbove[l] = above;
                tied[l] = count[h, d];
            }
        }
        var result = new float[n];
        for (int l = 0; l < n; l++)
        {
            float t = BitConverter.UInt32BitsToSingle(prefix[l]);
            uint need = tied[l];
            if (t > 0f)
            {
                float k = MathF.Ceiling((levels[l] - massAbove[l]) / t);
                need = k < 1f ? 1u : (k > tied[l] ? tied[l] : (uint)k);
            }
            float total = countAbove[l] + need;
            result[l] = total > row.Length ? row.Length : total;
        }
        return result;
    }
}

namespace VDiTLens.Tests.Runtime.Cuda;

public sealed class RowSmallestKernelEmulationTests
{
    /// <summary>The reference: the first m positions of a stable ascending sort (NaN last, −0 equal to +0, as torch sorts).</summary>
    private static bool[] BySort(float[] row, long m)
    {
        var order = Enumerable.Range(0, row.Length).OrderBy(i => float.IsNaN(row[i]) ? 1 : 0).ThenBy(i => float.IsNaN(row[i]) ? 0f : row[i]).ThenBy(i => i);
        var mask = new bool[row.Length];
        foreach (int i in order.Take((int)Math.Clamp(m, 0, row.Length))) mask[i] = true;
        return mask;
    }

    [Fact]
    public void Order_keys_order_like_the_floats()
    {
        var values = new[] { float.NegativeInfinity, -3.5f, -1f, -float.Epsilon, 0f, float.Epsilon, 1e-30f, 0.25f, 1f, float.MaxValue, float.PositiveInfinity };
        for (int i = 1; i < values.Length; i++)
            Assert.True(RowSmallestKernelEmulation.OrderKey(values[i - 1]) < RowSmallestKernelEmulation.OrderKey(values[i]), $"{values[i - 1]} < {values[i]}");
        Assert.Equal(RowSmallestKernelEmulation.OrderKey(0f), RowSmallestKernelEmulation.OrderKey(-0f));
        Assert.True(RowSmallestKernelEmulation.OrderKey(float.NaN) > RowSmallestKernelEmulation.OrderKey(float.PositiveInfinity));
    }

    [Fact]
    public void Selection_equals_the_stable_sort_on_adversarial_ties()
    {
        var random = new Random(5);
        float[] levels = { -1f, -0f, 0f, 1e-38f, 1f / 3, 0.25f, 0.5f, float.PositiveInfinity, float.NaN };
        for (int trial = 0; trial < 400; trial++)
        {
            int n = random.Next(1, 90);
            int distinct = random.Next(1, levels.Length + 1);
            var row = Enumerable.Range(0, n).Select(_ => trial % 4 == 0 ? (float)random.NextDouble() : levels[random.Next(distinct)]).ToArray();
            // m past both ends too: the kernel clamps to [0, n]
            long m = random.Next(-2, n + 3);
            Assert.True(BySort(row, m).SequenceEqual(RowSmallestKernelEmulation.Mask(row, m)),
                $"trial {trial}: n = {n}, m = {m}, row [{string.Join(", ", row)}]");
        }
    }
}

using TorchSharp;
using VDiTLens.Interventions.Sparsity;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Interventions;

public sealed class RowSelectionTests
{
    /// <summary>The reference: the first m positions of a stable ascending sort of each row.</summary>
    private static bool[] BySort(double[] row, long m) =>
        Enumerable.Range(0, row.Length).OrderBy(i => row[i]).ThenBy(i => i).Take((int)m).Aggregate(new bool[row.Length], (a, i) => { a[i] = true; return a; });

    public static TheoryData<string, int> Cases() => new()
    {
        { "uniform m", 0 }, { "varying m, small side", 1 }, { "varying m, large side", 2 }, { "m from 0 to n", 3 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Selection_equals_the_stable_sort_on_adversarial_ties(string what, int kind)
    {
        TorchRuntime.Initialise();
        var g = new Generator((ulong)(11 + kind));
        const int rows = 64, n = 37;
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.Float64 })
        {
            // few distinct levels (many ties at every threshold), one all-equal row, one row of -1 padding then ties
            var values = torch.randint(0, 4, new long[] { 2, rows, n }, generator: g).to(dtype) / 3.0;
            values[0, 0] = torch.full(n, 0.25, dtype: dtype);
            values[1, 1, ..10] = torch.tensor(-1.0, dtype: dtype);
            var m = kind switch
            {
                0 => torch.full(new long[] { 1, 1, 1 }, 17L),
                1 => torch.randint(1, 9, new long[] { 2, rows, 1 }, generator: g),
                2 => torch.randint(30, n + 1, new long[] { 2, rows, 1 }, generator: g),
                _ => torch.randint(0, n + 1, new long[] { 2, rows, 1 }, generator: g),
            };
            if (kind == 3) { m[0, 1, 0] = torch.tensor(0L); m[0, 2, 0] = torch.tensor((long)n); }
            var selected = RowSelection.Smallest(values, m);
            var full = m.expand(2, rows, 1).contiguous();
            for (int b = 0; b < 2; b++)
                for (int r = 0; r < rows; r++)
                {
                    var row = values[b, r].to(ScalarType.Float64).data<double>().ToArray();
                    var expected = BySort(row, full[b, r, 0].item<long>());
                    Assert.True(expected.SequenceEqual(selected[b, r].data<bool>().ToArray()), $"{what} {dtype}: row ({b}, {r}) differs from the sort");
                }
        }
    }
}

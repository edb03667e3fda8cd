using VDiTLens.Reports.Explorer;

namespace VDiTLens.Tests.Reports.Explorer;

public sealed class QuantisedTests
{
    [Fact]
    public void Every_value_decodes_within_half_a_step_of_its_group_maximum()
    {
        var random = new Random(3);
        var values = Enumerable.Range(0, 600).Select(i => (float)(random.NextDouble() * (i < 300 ? 1e-3 : 5))).ToArray();
        var q = Quantised.Of(values, 300);
        for (int i = 0; i < values.Length; i++)
        {
            double max = values.Skip(i / 300 * 300).Take(300).Max();
            Assert.True(Math.Abs(q.Decode(i) - values[i]) <= max / 65535 / 2 * (1 + 1e-6), $"value {i}");
        }
        Assert.Equal(values[..300].Max(), q.Decode(Array.IndexOf(values, values[..300].Max())), 9);
    }

    [Fact]
    public void Zero_groups_stay_zero_and_a_bad_group_size_is_refused()
    {
        var q = Quantised.Of(new float[] { 0, 0, 1, 0.5f }, 2);
        Assert.Equal(new[] { 0.0, 0.0 }, new[] { q.Decode(0), q.Decode(1) });
        Assert.Equal(0.5, q.Decode(3), 4);
        Assert.Throws<VDiTLensException>(() => Quantised.Of(new float[5], 2));
    }
}

using VDiTLens.Studies.Structure;

namespace VDiTLens.Tests.Studies.Structure;

/// <summary>The band is chosen on the development seeds alone and reported on the held-out seeds alone.</summary>
public sealed class EditSelectionTests
{
    private static readonly EditStudyOptions Options = new()
    {
        Pairs = new[] { new EditPair("a", "b", "colour"), new EditPair("c", "d", "shape") },
        DevSeeds = new long[] { 0 }, TestSeeds = new long[] { 1, 2 }, Evaluator = EditEvaluator.None,
    };

    /// <summary>A cell whose generic score (MS-SSIM to source) is <paramref name="score"/>, against 0.3 without transfer.</summary>
    private static EditStudyCell Cell(string band, int first, int pair, long seed, double score) =>
        new(band, first, first, pair, seed, null, null, new EditFidelity(20, score, 20, 0.5, 15, 0.3));

    /// <summary>On seed 0, L1 is a little better than L0; on seeds 1 and 2, L0 is far better.</summary>
    private static List<EditStudyCell> Cells(double testScoreOfL0) =>
        new[] { ("L0", 0), ("L1", 1) }.SelectMany(b => Enumerable.Range(0, 2).SelectMany(p => new long[] { 0, 1, 2 }.Select(seed =>
            Cell(b.Item1, b.Item2, p, seed, seed == 0 ? (b.Item1 == "L1" ? 0.6 : 0.5) : (b.Item1 == "L0" ? testScoreOfL0 : 0.2 + 0.01 * p + 0.001 * seed))))).ToList();

    [Fact]
    public void The_choice_ignores_the_held_out_seeds_even_when_they_favour_another_band()
    {
        var selection = EditSelection.Of(Cells(testScoreOfL0: 0.99), Options);
        Assert.Equal("L1", selection.Chosen);
        Assert.All(selection.Development, b => Assert.Equal(2, b.Samples)); // one dev seed × 2 pairs
        Assert.Equal(0.6, selection.Development.Single(b => b.Band == "L1").Score, 12);

        // whatever the held-out cells hold, the choice and the development table do not move
        var other = EditSelection.Of(Cells(testScoreOfL0: -1), Options);
        Assert.Equal(selection.Chosen, other.Chosen);
        Assert.Equal(selection.Development, other.Development);
        var devOnly = EditSelection.Of(Cells(0.99).Where(c => c.Seed == 0).ToList(), Options);
        Assert.Equal(selection.Chosen, devOnly.Chosen);
        Assert.Equal(0, devOnly.Test!.Samples);
    }

    [Fact]
    public void The_chosen_band_is_reported_on_the_held_out_samples_against_the_no_transfer_arm()
    {
        var test = EditSelection.Of(Cells(0.99), Options).Test!;
        Assert.Equal("L1", test.Band);
        Assert.Equal(4, test.Samples); // 2 pairs × 2 held-out seeds
        var scores = new[] { 0.201, 0.202, 0.211, 0.212 };
        Assert.Equal(scores.Average(), test.Score.Value, 12);
        Assert.Equal(0.3, test.BaselineScore.Value, 12);
        Assert.Equal(scores.Average() - 0.3, test.ScoreDifference.Value, 12);
        Assert.True(test.ScoreDifference.Low <= test.ScoreDifference.Value && test.ScoreDifference.Value <= test.ScoreDifference.High);
        Assert.Equal(4, test.ScoreDifference.N);
        Assert.True(double.IsNaN(test.Distance.Value), "no evaluator: no trajectory distance");
    }

    [Fact]
    public void Ties_go_to_the_lower_trajectory_distance_then_to_the_earlier_band()
    {
        var bands = new[]
        {
            new EditBandScore("L0", 0, 0, 4, 0.5, 0, double.NaN), new EditBandScore("L1", 1, 1, 4, 0.5, 0, 2.0),
            new EditBandScore("L2", 2, 2, 4, 0.5, 0, 1.0), new EditBandScore("L3", 3, 3, 4, double.NaN, 0, 0.1),
        };
        Assert.Equal("L2", EditSelection.Choose(bands));
        Assert.Equal("L0", EditSelection.Choose(new[] { bands[0], bands[0] with { Band = "L9" } }));
        Assert.Null(EditSelection.Choose(new[] { bands[3] }));
    }

    [Theory]
    [InlineData(new long[] { 0 }, new long[] { 0, 1 }, "share seed(s) 0")]
    [InlineData(new long[] { 0 }, new long[] { 1 }, "at least 2")]
    [InlineData(new long[0], new long[] { 1, 2 }, "DevSeeds")]
    public void A_seed_split_that_could_leak_or_cannot_give_an_interval_is_refused(long[] dev, long[] test, string message)
    {
        var e = Assert.Throws<VDiTLensException>(() => (Options with { DevSeeds = dev, TestSeeds = test }).Validate());
        Assert.Contains(message, e.Message);
    }
}

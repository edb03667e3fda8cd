using VDiTLens.Statistics;
using VDiTLens.Studies.Sparsity;

namespace VDiTLens.Tests.Studies.Sparsity;

public sealed class ProtectionSummaryTests
{
    private static SampleRow Row(string arm, double? level, int prompt, long seed, double latent, double psnr) =>
        new(arm, level, "", prompt, seed, latent, psnr, 0.9, 0.95, 0.99, 0.99, null);

    /// <summary>Three samples (prompt × seed); every value picked so the hand computation below is simple.</summary>
    private static readonly SampleRow[] Rows =
    {
        Row(ProtectionArms.NoiseFloor, null, 0, 1, 0.01, 60), Row(ProtectionArms.NoiseFloor, null, 1, 1, 0.03, 50), Row(ProtectionArms.NoiseFloor, null, 0, 2, 0.02, 55),
        Row(ProtectionArms.OtherSeed, null, 0, 1, 1.0, 10), Row(ProtectionArms.OtherSeed, null, 1, 1, 0.9, 12), Row(ProtectionArms.OtherSeed, null, 0, 2, 1.1, 8),
        Row(ProtectionArms.AllMasked, 0.7, 0, 1, 0.5, 20), Row(ProtectionArms.AllMasked, 0.7, 1, 1, 0.6, 18), Row(ProtectionArms.AllMasked, 0.7, 0, 2, 0.4, 22),
        Row(ProtectionArms.SensitiveDense, 0.7, 0, 1, 0.3, 25), Row(ProtectionArms.SensitiveDense, 0.7, 1, 1, 0.5, 19), Row(ProtectionArms.SensitiveDense, 0.7, 0, 2, 0.4, 21),
        Row("random_dense_0", 0.7, 0, 1, 0.4, 21), Row("random_dense_0", 0.7, 1, 1, 0.4, 21), Row("random_dense_0", 0.7, 0, 2, 0.4, 21),
        Row("random_dense_1", 0.7, 0, 1, 0.2, 23), Row("random_dense_1", 0.7, 1, 1, 0.6, 23), Row("random_dense_1", 0.7, 0, 2, 0.3, 23),
    };

    [Fact]
    public void Normalised_degradation_and_paired_contrasts_equal_a_hand_computation()
    {
        var summary = ProtectionSummary.Of(Rows, new Bootstrap(Resamples: 500));
        // latent: d = mean(0.5, 0.6, 0.4) = 0.5, d_noise = 0.02, d_seed = 1.0 → (0.5 − 0.02) / 0.98
        var latent = summary.Normalised.Single(n => n.Arm == ProtectionArms.AllMasked && n.Metric == "latent_rel_l2");
        Assert.Equal(0.48 / 0.98, latent.Value.Value, 12);
        Assert.Equal(0.02, latent.NoiseFloor, 12);
        Assert.Equal(1.0, latent.SeedSpread, 12);
        Assert.InRange(latent.Value.Value, latent.Value.Low, latent.Value.High);
        // PSNR: d = 20, d_noise = 55, d_seed = 10 → (20 − 55) / (10 − 55) = 35/45
        var psnr = summary.Normalised.Single(n => n.Arm == ProtectionArms.AllMasked && n.Metric == "psnr_db");
        Assert.Equal(35.0 / 45.0, psnr.Value.Value, 12);
        // sensitive − random (mean of the draws per sample): latent (0.3 − 0.3) + (0.5 − 0.5) + (0.4 − 0.35) over 3
        var vsRandom = summary.Contrasts.Single(c => c.Name == "sensitive_dense − random_dense_mean" && c.Metric == "latent_rel_l2");
        Assert.Equal(0.05 / 3, vsRandom.Difference.Value, 12);
        Assert.Equal(3, vsRandom.Difference.N);
        var vsMasked = summary.Contrasts.Single(c => c.Name == "sensitive_dense − all_masked" && c.Metric == "psnr_db");
        Assert.Equal((5 + 1 - 1) / 3.0, vsMasked.Difference.Value, 12);
        // arms not run give no contrast; every mean has its CI
        Assert.DoesNotContain(summary.Contrasts, c => c.Name.Contains(ProtectionArms.RandomKeys));
        var mean = summary.Means.Single(m => m.Arm == ProtectionArms.AllMasked && m.Metric == "latent_rel_l2");
        Assert.Equal(0.5, mean.Mean.Value, 12);
        Assert.True(mean.Mean.Low < 0.5 && mean.Mean.High > 0.5);
        Assert.DoesNotContain(summary.Means, m => m.Metric == "resnet18_feature_distance");
    }

    [Fact]
    public void Samples_csv_has_one_row_per_arm_prompt_and_seed()
    {
        var lines = ProtectionReport.SamplesCsv(Rows).TrimEnd().Split('\n');
        Assert.Equal(1 + Rows.Length, lines.Length);
        Assert.Equal("arm,level,dense_layers,prompt,seed,latent_rel_l2,psnr_db,ssim,ms_ssim,temporal_flickering,dense_temporal_flickering,resnet18_feature_distance", lines[0]);
        Assert.Equal("all_masked,0.7,,0,1,0.5,20,0.9,0.95,0.99,0.99,", lines[7]);
    }

    [Fact]
    public void Held_out_seeds_shared_with_dev_seeds_are_refused()
    {
        var e = Assert.Throws<VDiTLensException>(() => new ProtectionOptions { DevSeeds = new long[] { 0, 1 }, TestSeeds = new long[] { 1, 2 } }.Validate());
        Assert.Contains("share seed(s) 1", e.Message);
        Assert.Throws<VDiTLensException>(() => new ProtectionOptions { TestSeeds = new long[] { 3 } }.Validate());
    }
}

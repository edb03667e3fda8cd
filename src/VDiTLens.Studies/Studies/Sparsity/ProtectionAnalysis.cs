using VDiTLens.Statistics;

namespace VDiTLens.Studies.Sparsity;

/// <summary>A metric's mean over the held-out samples of one arm and level, with its bootstrap CI.</summary>
public sealed record ArmMetric(string Arm, double? Level, string Metric, Estimate Mean);

/// <summary>
/// (mean d − mean d_noise) / (mean d_seed − mean d_noise) of one arm and level: 0 at the noise floor, 1 as far as
/// another seed. Bootstrapped over samples (prompt × seed) drawn jointly for the arm and both scales.
/// </summary>
public sealed record NormalisedDegradation(string Arm, double Level, string Metric, double NoiseFloor, double SeedSpread, Estimate Value);

/// <summary>Paired difference a − b over the held-out samples (same prompt and seed in both arms), with its bootstrap CI.</summary>
public sealed record Contrast(string Name, double Level, string Metric, Estimate Difference);

/// <summary>Every headline number of the held-out study, each with its bootstrap CI over samples.</summary>
public sealed record ProtectionSummary(
    IReadOnlyList<ArmMetric> Means, IReadOnlyList<NormalisedDegradation> Normalised, IReadOnlyList<Contrast> Contrasts)
{
    /// <summary>Metrics with a normalised degradation (distance-like or similarity; the ratio is the same for both).</summary>
    public static readonly string[] Scaled = { "latent_rel_l2", "psnr_db" };

    public static ProtectionSummary Of(IReadOnlyList<SampleRow> rows, Bootstrap bootstrap)
    {
        var metrics = Metrics(rows);
        var means = new List<ArmMetric>();
        foreach (var group in rows.GroupBy(r => (r.Arm, r.Level)).OrderBy(g => g.Key.Level ?? -1).ThenBy(g => ArmOrder(g.Key.Arm)))
            foreach (var (name, value) in metrics)
            {
                var values = group.Select(value).Where(v => v.HasValue).Select(v => v!.Value).ToArray();
                if (values.Length > 0) means.Add(new ArmMetric(group.Key.Arm, group.Key.Level, name, bootstrap.Mean(values)));
            }

        var key = (SampleRow r) => (r.Prompt, r.Seed);
        var noise = rows.Where(r => r.Arm == ProtectionArms.NoiseFloor).ToDictionary(key);
        var other = rows.Where(r => r.Arm == ProtectionArms.OtherSeed).ToDictionary(key);
        var normalised = new List<NormalisedDegradation>();
        var contrasts = new List<Contrast>();
        foreach (var level in rows.Where(r => r.Level.HasValue).Select(r => r.Level!.Value).Distinct().OrderBy(l => l))
        {
            var arms = rows.Where(r => r.Level == level).GroupBy(r => r.Arm).ToDictionary(g => g.Key, g => g.ToDictionary(key));
            foreach (var (arm, byUnit) in arms.OrderBy(a => ArmOrder(a.Key)))
                foreach (var (name, value) in metrics.Where(m => Scaled.Contains(m.Name)))
                {
                    var units = byUnit.Keys.Where(u => noise.ContainsKey(u) && other.ContainsKey(u)).ToArray();
                    if (units.Length == 0) continue;
                    double Ratio(IEnumerable<(int, long)> drawn)
                    {
                        var d = drawn.ToArray();
                        double n = d.Average(u => value(noise[u])!.Value), s = d.Average(u => value(other[u])!.Value);
                        return (d.Average(u => value(byUnit[u])!.Value) - n) / (s - n);
                    }
                    double n0 = units.Average(u => value(noise[u])!.Value), s0 = units.Average(u => value(other[u])!.Value);
                    var estimate = bootstrap.Of(Enumerable.Range(0, units.Length).Select(i => (double)i).ToArray(),
                        drawn => Ratio(drawn.Select(i => units[(int)i])));
                    normalised.Add(new NormalisedDegradation(arm, level, name, n0, s0, estimate));
                }

            // per unit, the random-dense arms averaged over draws
            var randomArms = arms.Keys.Where(a => a.StartsWith(ProtectionArms.RandomDensePrefix, StringComparison.Ordinal)).ToArray();
            foreach (var (name, value) in metrics.Where(m => Scaled.Contains(m.Name)))
            {
                // a partial merge may lack a draw's sample: then the unit has no mean over draws
                double? ArmValue(string arm, (int, long) unit) => arm == "random_dense_mean"
                    ? (randomArms.Length == 0 || randomArms.Any(a => !arms[a].ContainsKey(unit)) ? null : randomArms.Average(a => value(arms[a][unit])!.Value))
                    : arms.TryGetValue(arm, out var byUnit) && byUnit.TryGetValue(unit, out var row) ? value(row) : null;
                void Add(string a, string b)
                {
                    if (!arms.ContainsKey(a) || (b != "random_dense_mean" && !arms.ContainsKey(b)) || (b == "random_dense_mean" && randomArms.Length == 0)) return;
                    var units = arms[a].Keys.Where(u => ArmValue(b, u).HasValue).ToArray();
                    contrasts.Add(new Contrast($"{a} − {b}", level, name,
                        bootstrap.PairedDifference(units.Select(u => ArmValue(a, u)!.Value).ToArray(), units.Select(u => ArmValue(b, u)!.Value).ToArray())));
                }
                Add(ProtectionArms.SensitiveDense, ProtectionArms.AllMasked);
                Add(ProtectionArms.SensitiveDense, "random_dense_mean");
                Add(ProtectionArms.SensitiveDense, ProtectionArms.LeastSensitiveDense);
                Add(ProtectionArms.AllMasked, ProtectionArms.RandomKeys);
                Add(ProtectionArms.AllMaskedTemperature, ProtectionArms.AllMasked);
            }
        }
        return new ProtectionSummary(means, normalised, contrasts);
    }

    public static (string Name, Func<SampleRow, double?> Value)[] Metrics(IReadOnlyList<SampleRow> rows)
    {
        var list = new List<(string, Func<SampleRow, double?>)>
        {
            ("latent_rel_l2", r => r.LatentRelativeL2),
            ("psnr_db", r => r.Psnr),
            ("ssim", r => r.Ssim),
            ("ms_ssim", r => r.MsSsim),
            ("temporal_flickering", r => r.TemporalFlickering),
        };
        if (rows.Any(r => r.FeatureDistance.HasValue)) list.Add(("resnet18_feature_distance", r => r.FeatureDistance));
        return list.ToArray();
    }

    private static int ArmOrder(string arm) => arm switch
    {
        ProtectionArms.NoiseFloor => 0,
        ProtectionArms.OtherSeed => 1,
        ProtectionArms.AllMasked => 2,
        ProtectionArms.SensitiveDense => 3,
        ProtectionArms.LeastSensitiveDense => 4,
        ProtectionArms.RandomKeys => 6,
        ProtectionArms.AllMaskedTemperature => 7,
        _ => 5,
    };
}

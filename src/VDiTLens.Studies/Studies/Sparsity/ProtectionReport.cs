using System.Globalization;
using System.Text;
using System.Text.Json;
using VDiTLens.Statistics;

namespace VDiTLens.Studies.Sparsity;

/// <summary>
/// Writes the held-out study into <c>sparsity/</c>: <c>protection_samples.csv</c> (one row per arm × level × prompt ×
/// held-out seed), <c>protection_summary.csv</c> (every mean, normalised degradation and paired contrast with its
/// bootstrap CI), <c>protection_ranking.csv</c> (the dev ranking, the temperatures, the proxy validation) and
/// <c>protection.json</c> (all of it).
/// </summary>
public static class ProtectionReport
{
    public static IReadOnlyList<string> Write(string outFolder, ProtectionResult result, ProtectionSummary summary)
    {
        string folder = Path.Combine(outFolder, SparsityReport.Folder);
        Directory.CreateDirectory(folder);
        var files = new List<string>();
        void Save(string name, string text)
        {
            string path = Path.Combine(folder, name);
            AtomicFile.WriteAllText(path, text);
            files.Add(path);
        }
        Save("protection_samples.csv", SamplesCsv(result.Samples));
        Save("protection_summary.csv", SummaryCsv(summary));
        Save("protection_ranking.csv", RankingCsv(result.Dev));
        Save("protection.json", JsonSerializer.Serialize(new
        {
            sites = result.Sites,
            options = new
            {
                method = result.Options.Method.Name, levels = result.Options.Levels, dev_seeds = result.Options.DevSeeds, test_seeds = result.Options.TestSeeds,
                keep_dense = result.Options.KeepDense, random_draws = result.Options.RandomDraws, control_seed = result.Options.ControlSeed,
                ranking = result.Options.Ranking.ToString(), proxy_samples = result.Options.ProxySamples,
                calibration_query_stride = result.Options.CalibrationQueryStride, calibration_steps = result.Options.CalibrationSteps,
                bootstrap = new { resamples = result.Options.Bootstrap.Resamples, level = result.Options.Bootstrap.Level, seed = result.Options.Bootstrap.Seed },
            },
            dev = result.Dev,
            summary,
            generations = result.Generations,
            proxy_forwards = result.ProxyForwards,
            notes = result.Notes,
        }, new JsonSerializerOptions { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals }));
        return files;
    }

    private static string F(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
    private static string F(double? v) => v is { } x ? F(x) : "";

    public static string SamplesCsv(IEnumerable<SampleRow> rows)
    {
        var s = new StringBuilder("arm,level,dense_layers,prompt,seed,latent_rel_l2,psnr_db,ssim,ms_ssim,temporal_flickering,dense_temporal_flickering,resnet18_feature_distance\n");
        foreach (var r in rows)
            s.Append($"{r.Arm},{F(r.Level)},{r.DenseLayers},{r.Prompt},{r.Seed},{F(r.LatentRelativeL2)},{F(r.Psnr)},{F(r.Ssim)},{F(r.MsSsim)},{F(r.TemporalFlickering)},{F(r.DenseTemporalFlickering)},{F(r.FeatureDistance)}\n");
        return s.ToString();
    }

    public static string SummaryCsv(ProtectionSummary summary)
    {
        var s = new StringBuilder("kind,name,level,metric,value,ci_low,ci_high,n,d_noise,d_seed\n");
        string E(Estimate e) => $"{F(e.Value)},{F(e.Low)},{F(e.High)},{e.N}";
        foreach (var m in summary.Means) s.Append($"mean,{m.Arm},{F(m.Level)},{m.Metric},{E(m.Mean)},,\n");
        foreach (var n in summary.Normalised) s.Append($"normalised,{n.Arm},{F(n.Level)},{n.Metric},{E(n.Value)},{F(n.NoiseFloor)},{F(n.SeedSpread)}\n");
        foreach (var c in summary.Contrasts) s.Append($"contrast,{c.Name},{F(c.Level)},{c.Metric},{E(c.Difference)},,\n");
        return s.ToString();
    }

    public static string RankingCsv(DevSelection dev)
    {
        var s = new StringBuilder($"# ranking by {dev.Source} on the development seeds; kept dense: sensitive [{string.Join(" ", dev.Sensitive)}], least sensitive [{string.Join(" ", dev.LeastSensitive)}], random draws {string.Join("; ", dev.RandomDense.Select(d => "[" + string.Join(" ", d) + "]"))}\n");
        s.Append("rank,layer,site,score\n");
        for (int i = 0; i < dev.Ranking.Count; i++) s.Append($"{i + 1},{dev.Ranking[i].Layer},{dev.Ranking[i].Site},{F(dev.Ranking[i].Score)}\n");
        if (dev.Temperatures.Count > 0)
        {
            s.Append("\nlevel,site,calls,clamped_head_calls,tau_per_head\n");
            foreach (var t in dev.Temperatures) s.Append($"{F(t.Level)},{t.Site},{t.Calls},{t.ClampedHeadCalls},{string.Join(" ", t.Taus.Select(F))}\n");
        }
        if (dev.Validation is { } v)
        {
            s.Append($"\n# proxy validation: Spearman {F(v.Spearman.Value)} [{F(v.Spearman.Low)}, {F(v.Spearman.High)}] over {v.Cells.Count} (layer, level) cells, bootstrap over {v.Spearman.N} samples\n");
            s.Append("layer,level,proxy_mean,generation_mean\n");
            foreach (var c in v.Cells) s.Append($"{c.Layer},{F(c.Level)},{F(c.Proxy.Average())},{F(c.Generation.Average())}\n");
        }
        return s.ToString();
    }
}

using System.Text.Json;
using VDiTLens.Attention;
using VDiTLens.IO;
using VDiTLens.Studies.Sparsity;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Sinks;

/// <summary>A baseline cell read back: the run (its attention only when asked for), the model's sites, the run's sinks and its τ = 1 measure.</summary>
public sealed record SavedBaseline(ProbedRun Run, IReadOnlyList<AttentionSite> Sites, IReadOnlyList<SiteSinks> Sinks, ArmMeasure? BaselineMeasure) : IDisposable
{
    public void Dispose() => Run.Dispose();
}

/// <summary>
/// One baseline generation of the sink study as one safetensors file (written atomically): latents, video, received
/// mass and entropy per (site, step) in the order they were measured (so averages over steps sum in the same order
/// when read back), and as metadata the run's prompt and seed, key layouts, valid keys, the model's sites, the run's
/// sinks and, when the study sweeps temperature, its τ = 1 measure.
/// </summary>
public static class SinkBaselineFile
{
    private const string RunKey = "sinks_run", LayoutsKey = "layouts", ValidKey = "valid_keys", SitesKey = "sites", SinksKey = "run_sinks",
        MassKey = "mass_keys", EntropyKey = "entropy_keys", MeasureKey = "baseline_measure";

    private sealed record RunInfo(string Prompt, long Seed, int Run);
    private sealed record SiteLayout(string Site, IReadOnlyList<TokenSegment> Segments);
    private sealed record SiteStep(string Site, int Step);
    private sealed record SiteValid(string Site, bool[] Valid);

    public static void Save(string path, ProbedRun run, IReadOnlyList<AttentionSite> sites, IReadOnlyList<SiteSinks> sinks, ArmMeasure? baselineMeasure)
    {
        var tensors = new List<KeyValuePair<string, Tensor>> { new("latents", run.Latents), new("video", run.Video) };
        var massKeys = run.Mass.Keys.Select(k => new SiteStep(k.Site, k.Step)).ToList();
        var entropyKeys = run.Entropy.Keys.Select(k => new SiteStep(k.Site, k.Step)).ToList();
        tensors.AddRange(run.Mass.Values.Select((t, i) => new KeyValuePair<string, Tensor>($"mass.{i}", t)));
        tensors.AddRange(run.Entropy.Values.Select((t, i) => new KeyValuePair<string, Tensor>($"entropy.{i}", t)));
        var metadata = new Dictionary<string, string>
        {
            [RunKey] = Json(new RunInfo(run.Prompt, run.Seed, run.Run)),
            [LayoutsKey] = Json(run.Layouts.Select(kv => new SiteLayout(kv.Key, kv.Value.Segments)).ToList()),
            [ValidKey] = Json(run.ValidKeys.Select(kv => new SiteValid(kv.Key, kv.Value)).ToList()),
            [SitesKey] = Json(sites),
            [SinksKey] = Json(sinks),
            [MassKey] = Json(massKeys),
            [EntropyKey] = Json(entropyKeys),
        };
        if (baselineMeasure is not null) metadata[MeasureKey] = Json(baselineMeasure);
        SafeTensorsWriter.Save(path, tensors, metadata);
    }

    /// <summary>Whether <paramref name="path"/> holds a whole baseline cell.</summary>
    public static bool IsSaved(string path)
    {
        if (!File.Exists(path)) return false;
        try
        {
            using var file = SafeTensorsFile.Open(path);
            return file.Metadata.ContainsKey(RunKey) && file.Metadata.ContainsKey(SinksKey);
        }
        catch (VDiTLensException) { return false; }
    }

    /// <param name="attention">also read the received mass and entropy (detection and the report need them; ablating or tempering the run does not).</param>
    public static SavedBaseline Load(string path, bool attention)
    {
        using var file = SafeTensorsFile.Open(path);
        var m = file.Metadata;
        var info = Read<RunInfo>(m, RunKey);
        var mass = new Dictionary<(string, int), Tensor>();
        var entropy = new Dictionary<(string, int), Tensor>();
        if (attention)
        {
            foreach (var (k, i) in Read<List<SiteStep>>(m, MassKey).Select((k, i) => (k, i))) mass[(k.Site, k.Step)] = file.Load($"mass.{i}");
            foreach (var (k, i) in Read<List<SiteStep>>(m, EntropyKey).Select((k, i) => (k, i))) entropy[(k.Site, k.Step)] = file.Load($"entropy.{i}");
        }
        var run = new ProbedRun
        {
            Prompt = info.Prompt, Seed = info.Seed, Run = info.Run,
            Latents = file.Load("latents"), Video = file.Load("video"), Mass = mass, Entropy = entropy,
            Layouts = Read<List<SiteLayout>>(m, LayoutsKey).ToDictionary(l => l.Site, l => new TokenLayout(l.Segments)),
            ValidKeys = Read<List<SiteValid>>(m, ValidKey).ToDictionary(v => v.Site, v => v.Valid),
        };
        return new SavedBaseline(run, Read<List<AttentionSite>>(m, SitesKey), Read<List<SiteSinks>>(m, SinksKey),
            m.TryGetValue(MeasureKey, out var measure) ? JsonSerializer.Deserialize<ArmMeasure>(measure, CellStore.Json) : null);
    }

    private static string Json<T>(T value) => JsonSerializer.Serialize(value, CellStore.Json);

    private static T Read<T>(IReadOnlyDictionary<string, string> metadata, string key) =>
        JsonSerializer.Deserialize<T>(metadata[key], CellStore.Json) ?? throw new VDiTLensException($"sink baseline cell: metadata '{key}' is empty");
}

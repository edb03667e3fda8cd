using System.Text.Json;
using VDiTLens.Attention;
using VDiTLens.IO;
using VDiTLens.Pipelines;
using VDiTLens.Probes;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Structure;

/// <summary>
/// One cell of the structure study is one seed of one model: every prompt of <see cref="StructureOptions"/> in one
/// batch, every row from the same starting noise (<see cref="SharedNoise"/>: "same seed" means the same noise across
/// prompts), with frame (and tile) map probes grouped by step and run. Its raw probe results are saved to
/// <c>&lt;folder&gt;/&lt;label&gt;_seed&lt;seed&gt;.safetensors</c> (written atomically, with the options' fingerprint and
/// the model's sites), and the maps are assembled from whichever of those files are there.
/// </summary>
public static class StructureCollector
{
    private const string FingerprintKey = "vditlens_structure";
    private const string KeysKey = "probe_keys";
    private const string SitesKey = "sites";

    public static string CellId(string label, long seed) => $"{label}_seed{seed}";

    public static string FileOf(string folder, string label, long seed) => Path.Combine(folder, CellId(label, seed) + ".safetensors");

    /// <summary>Computes every missing cell of <paramref name="label"/>, then assembles the maps (the whole study in one process).</summary>
    public static IReadOnlyDictionary<string, StructureMaps> Collect(ITextToVideoPipeline pipeline, StructureOptions options, string modelId,
        string folder, string label = "maps", IProgress<StudyProgress>? progress = null, CancellationToken cancellation = default)
    {
        options.Validate();
        for (int si = 0; si < options.Seeds.Count; si++)
            if (!Has(folder, label, options.Seeds[si], options, modelId))
                Compute(pipeline, options, modelId, folder, label, si, progress, cancellation);
        return Assemble(options, modelId, folder, label, out _);
    }

    /// <summary>Whether the cell of (<paramref name="label"/>, <paramref name="seed"/>) is saved for these options and model.</summary>
    public static bool Has(string folder, string label, long seed, StructureOptions options, string modelId)
    {
        string file = FileOf(folder, label, seed);
        if (!File.Exists(file)) return false;
        try
        {
            using var saved = SafeTensorsFile.Open(file);
            return saved.Metadata.GetValueOrDefault(FingerprintKey) == options.Fingerprint(modelId) && saved.Metadata.ContainsKey(KeysKey);
        }
        catch (VDiTLensException) { return false; }
    }

    /// <summary>Generates seed <paramref name="seedIndex"/> of the options and saves its cell.</summary>
    public static void Compute(ITextToVideoPipeline pipeline, StructureOptions options, string modelId, string folder, string label, int seedIndex,
        IProgress<StudyProgress>? progress = null, CancellationToken cancellation = default)
    {
        long seed = options.Seeds[seedIndex];
        using var results = Generate(pipeline, options, seedIndex, seed, progress, cancellation);
        Directory.CreateDirectory(folder);
        SafeTensorsWriter.Save(FileOf(folder, label, seed), results.ByPrintedKey(), new Dictionary<string, string>
        {
            [FingerprintKey] = options.Fingerprint(modelId),
            [KeysKey] = JsonSerializer.Serialize(results.Keys.ToArray()),
            [SitesKey] = JsonSerializer.Serialize(pipeline.Sites),
        });
    }

    /// <summary>The maps of the seeds whose cells are saved (in the options' seed order); <paramref name="present"/> lists those seeds.</summary>
    public static IReadOnlyDictionary<string, StructureMaps> Assemble(StructureOptions options, string modelId, string folder, string label,
        out IReadOnlyList<long> present)
    {
        var seeds = options.Seeds.Where(s => Has(folder, label, s, options, modelId)).ToList();
        present = seeds;
        var maps = options.Kinds.ToDictionary(k => k, k => new StructureMaps(k, options.Prompts.Count, seeds.Count, options.Steps));
        for (int si = 0; si < seeds.Count; si++)
        {
            using var saved = SafeTensorsFile.Open(FileOf(folder, label, seeds[si]));
            var sites = JsonSerializer.Deserialize<AttentionSite[]>(saved.Metadata[SitesKey])!;
            var all = saved.LoadAll();
            using var results = new ProbeResults(JsonSerializer.Deserialize<ProbeKey[]>(saved.Metadata[KeysKey])!.Select(k => new ProbeResult(k, all[k.ToString()], 1)).ToList());
            foreach (var m in maps.Values) m.AddResults(si, results, sites);
        }
        return maps;
    }

    private static ProbeResults Generate(ITextToVideoPipeline pipeline, StructureOptions o, int seedIndex, long seed,
        IProgress<StudyProgress>? progress, CancellationToken cancellation)
    {
        using var probes = new ProbeSet(pipeline.Seam, o.ProbeOptions);
        pipeline.Seam.State.Run = seedIndex;
        var request = new GenerationRequest
        {
            Prompts = o.Prompts, NegativePrompt = o.NegativePrompt, GuidanceScale = o.Guidance, Steps = o.Steps, Seed = seed,
            Frames = o.Frames, Height = o.Height, Width = o.Width, MaxSequenceLength = o.MaxSequenceLength, Image = o.Image,
            BatchGuidance = false, // so the probe can keep the chosen branch's calls only
            Cancellation = cancellation,
            Progress = progress is null ? null : new Forward(p => progress.Report(new StudyProgress($"seed {seed}", seedIndex, o.Seeds.Count, p))),
        };
        using var noise = SharedNoise.For(pipeline, request);
        try
        {
            pipeline.Denoise(request with { InitialLatents = noise }).Dispose();
        }
        finally
        {
            pipeline.Seam.State.Run = 0;
        }
        return probes.Results();
    }

    /// <summary>Reports synchronously on the calling thread.</summary>
    private sealed class Forward(Action<GenerationProgress> report) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress value) => report(value);
    }
}

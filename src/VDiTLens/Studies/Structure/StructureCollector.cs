using System.Text.Json;
using TorchSharp;
using VDiTLens.IO;
using VDiTLens.Pipelines;
using VDiTLens.Probes;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Structure;

/// <summary>
/// Generates every prompt of <see cref="StructureOptions"/> in one batch per seed, every row from the same starting
/// noise (<see cref="SharedNoise"/>: "same seed" means the same noise across prompts), with frame (and tile) map probes
/// grouped by step and run, and keeps the maps. Each seed's raw probe results are saved to
/// <c>&lt;cache&gt;/&lt;label&gt;_seed&lt;seed&gt;.safetensors</c> as soon as that seed finishes; a rerun with the same options
/// loads them instead of generating again.
/// </summary>
public static class StructureCollector
{
    private const string FingerprintKey = "vditlens_structure";
    private const string KeysKey = "probe_keys";

    public static IReadOnlyDictionary<string, StructureMaps> Collect(ITextToVideoPipeline pipeline, StructureOptions options, string modelId,
        string? cacheFolder = null, string label = "maps", IProgress<StudyProgress>? progress = null, CancellationToken cancellation = default)
    {
        options.Validate();
        var maps = options.Kinds.ToDictionary(k => k, k => new StructureMaps(k, options.Prompts.Count, options.Seeds.Count, options.Steps));
        string fingerprint = options.Fingerprint(modelId);
        for (int si = 0; si < options.Seeds.Count; si++)
        {
            long seed = options.Seeds[si];
            string? file = cacheFolder is null ? null : Path.Combine(cacheFolder, $"{label}_seed{seed}.safetensors");
            var results = Load(file, fingerprint) ?? Generate(pipeline, options, si, seed, progress, cancellation);
            try
            {
                if (file is not null && !File.Exists(file))
                    SafeTensorsWriter.Save(file, results.ByPrintedKey(), new Dictionary<string, string>
                    {
                        [FingerprintKey] = fingerprint,
                        [KeysKey] = JsonSerializer.Serialize(results.Keys.ToArray()),
                    });
                foreach (var m in maps.Values) m.AddResults(si, results, pipeline.Sites);
            }
            finally
            {
                results.Dispose();
            }
        }
        return maps;
    }

    private static ProbeResults? Load(string? file, string fingerprint)
    {
        if (file is null || !File.Exists(file)) return null;
        using var saved = SafeTensorsFile.Open(file);
        if (!saved.Metadata.TryGetValue(FingerprintKey, out var f) || f != fingerprint || !saved.Metadata.TryGetValue(KeysKey, out var keyJson))
        {
            saved.Dispose();
            File.Delete(file); // made with other options: regenerate
            return null;
        }
        var all = saved.LoadAll();
        return new ProbeResults(JsonSerializer.Deserialize<ProbeKey[]>(keyJson)!.Select(k => new ProbeResult(k, all[k.ToString()], 1)).ToList());
    }

    private static ProbeResults Generate(ITextToVideoPipeline pipeline, StructureOptions o, int seedIndex, long seed,
        IProgress<StudyProgress>? progress, CancellationToken cancellation)
    {
        using var probes = new ProbeSet(pipeline.Seam, o.ProbeOptions);
        pipeline.Seam.State.Run = seedIndex;
        var request = new GenerationRequest
        {
            Prompts = o.Prompts, NegativePrompt = o.NegativePrompt, GuidanceScale = o.Guidance, Steps = o.Steps, Seed = seed,
            Frames = o.Frames, Height = o.Height, Width = o.Width, MaxSequenceLength = o.MaxSequenceLength,
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

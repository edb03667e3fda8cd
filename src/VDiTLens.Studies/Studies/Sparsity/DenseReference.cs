using System.Text.Json;
using TorchSharp;
using VDiTLens.IO;
using VDiTLens.Probes;
using static TorchSharp.torch;
using VDiTLens.Attention;

namespace VDiTLens.Studies.Sparsity;

/// <summary>
/// The dense run every cell is compared with: its final latents and video, the self-attention sites (in layer order)
/// and its EntropyCoverage probe results per site and step. Cached in one safetensors file (written atomically) and
/// reused while the run's fingerprint is unchanged.
/// </summary>
public sealed class DenseReference : IDisposable
{
    public const string FileName = "dense.safetensors";
    private const string ProbePrefix = "probe.";

    public Tensor Latents { get; }
    public Tensor Video { get; }
    public IReadOnlyList<string> Sites { get; }
    /// <summary>Probe results grouped by step: entropy, coverage, coverage_fraction.</summary>
    public ProbeResults Probes { get; }

    private DenseReference(Tensor latents, Tensor video, IReadOnlyList<string> sites, ProbeResults probes)
    {
        Latents = latents;
        Video = video;
        Sites = sites;
        Probes = probes;
    }

    /// <summary>Loads the cached reference from <paramref name="folder"/> when its fingerprint matches, else generates and saves it.</summary>
    public static DenseReference LoadOrCreate(string folder, ISweepGenerator generator, int coverageStride, CancellationToken cancellation, out bool generated)
    {
        string path = Path.Combine(folder, FileName);
        string fingerprint = JsonSerializer.Serialize(generator.Fingerprint);
        if (File.Exists(path))
        {
            using var file = SafeTensorsFile.Open(path);
            if (file.Metadata.GetValueOrDefault("fingerprint") == fingerprint && file.Metadata.TryGetValue("probe_keys", out var keyJson))
            {
                generated = false;
                return Read(file, keyJson);
            }
        }
        generated = true;
        var reference = Generate(generator, coverageStride, cancellation);
        var tensors = new Dictionary<string, Tensor> { ["latents"] = reference.Latents, ["video"] = reference.Video };
        foreach (var (k, v) in reference.Probes) tensors[ProbePrefix + k] = v;
        SafeTensorsWriter.Save(path, tensors, new Dictionary<string, string>
        {
            ["fingerprint"] = fingerprint,
            ["sites"] = JsonSerializer.Serialize(reference.Sites),
            ["probe_keys"] = JsonSerializer.Serialize(reference.Probes.Keys.ToArray()),
        });
        return reference;
    }

    /// <summary>The reference saved in <paramref name="folder"/>, whatever run made it (merging reads it without the model).</summary>
    public static DenseReference Load(string folder)
    {
        string path = Path.Combine(folder, FileName);
        if (!File.Exists(path)) throw new VDiTLensException($"{path}: no dense reference yet (no shard of this sweep has started)");
        using var file = SafeTensorsFile.Open(path);
        if (!file.Metadata.TryGetValue("probe_keys", out var keyJson))
            throw new VDiTLensException($"{path}: written by an older version (no probe_keys); delete it and run the sweep again");
        return Read(file, keyJson);
    }

    private static DenseReference Read(SafeTensorsFile file, string keyJson)
    {
        var all = file.LoadAll();
        var sites = JsonSerializer.Deserialize<string[]>(file.Metadata["sites"])!;
        var keys = JsonSerializer.Deserialize<ProbeKey[]>(keyJson)!;
        return new DenseReference(all["latents"], all["video"], sites,
            new ProbeResults(keys.Select(k => new ProbeResult(k, all[ProbePrefix + k], 1)).ToList()));
    }

    /// <summary>The probes the dense run carries (entropy and top-k coverage on every self/joint call, per step).</summary>
    public static ProbeOptions ProbeOptionsFor(int coverageStride) =>
        new ProbeOptions
        {
            Probes = new[] { "entropy" },
            Filter = new AttentionSelector { Sites = new[] { "self", "joint" } },
            Grouping = ProbeGrouping.Step,
            CoverageStride = coverageStride,
        };

    private static DenseReference Generate(ISweepGenerator generator, int coverageStride, CancellationToken cancellation)
    {
        var recorder = new SiteRecorder();
        var options = ProbeOptionsFor(coverageStride);
        using var probes = new ProbeSet(generator.Seam, options);
        using var attached = generator.Seam.Attach(recorder);
        var sample = generator.Generate(cancellation);
        var sites = recorder.Sites.Select(s => s.Name).ToArray();
        if (sites.Length == 0) throw new VDiTLensException("the dense run went through no self-attention site; this model cannot be swept");
        return new DenseReference(sample.Latents, sample.Video, sites, probes.Results());
    }

    public void Dispose()
    {
        Latents.Dispose();
        Video.Dispose();
        Probes.Dispose();
    }
}

using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Probes;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Structure;

/// <summary>
/// Pooled maps of one kind (frame_map or tile_map) of one model, per site, seed, step, prompt and head, held as
/// float64 arrays. Each map is [G, G] (rows = query groups, summing to 1). Head −1 is the head average.
/// </summary>
public sealed class StructureMaps
{
    private readonly Dictionary<string, double[][][]> _data = new(); // site → [seed][step] → flat [P, H, G, G]
    private readonly Dictionary<(string, int, int, int), double[]> _averages = new();

    public string Kind { get; }
    public IReadOnlyList<AttentionSite> Sites { get; private set; } = Array.Empty<AttentionSite>();
    public int Prompts { get; }
    public int Seeds { get; }
    public int Steps { get; }
    /// <summary>Heads and groups per site (after the first map of the site is added).</summary>
    public IReadOnlyDictionary<string, (int Heads, int Groups)> Shapes => _shapes;
    private readonly Dictionary<string, (int Heads, int Groups)> _shapes = new();

    public StructureMaps(string kind, int prompts, int seeds, int steps)
    {
        Kind = kind;
        Prompts = prompts;
        Seeds = seeds;
        Steps = steps;
    }

    /// <summary>Probe result keys <c>&lt;site&gt;.run&lt;r&gt;.step&lt;t&gt;.&lt;kind&gt;</c>.</summary>
    /// <summary>Adds every result of this kind of one seed's probes (keys as ProbeGrouping Run|Step writes them, [P, H, G, G]).</summary>
    public void AddResults(int seedIndex, IReadOnlyDictionary<ProbeKey, Tensor> results, IReadOnlyList<AttentionSite> modelSites)
    {
        foreach (var (key, tensor) in results)
        {
            if (key.Statistic != Kind) continue;
            string site = key.Site;
            int step = key.Step ?? throw new InvalidOperationException($"probe result '{key}' is not grouped by step");
            if (step < 0 || step >= Steps) throw new VDiTLensException($"probe result '{key}' is for step {step}; the study ran {Steps} steps");
            if (tensor.dim() != 4 || tensor.shape[0] != Prompts || tensor.shape[2] != tensor.shape[3])
                throw new VDiTLensException($"probe result '{key}' is [{string.Join(", ", tensor.shape)}]; expected [{Prompts}, heads, G, G]");
            var shape = ((int)tensor.shape[1], (int)tensor.shape[2]);
            if (_shapes.TryGetValue(site, out var known) && known != shape)
                throw new VDiTLensException($"probe result '{key}' changed shape within the study");
            _shapes[site] = shape;
            if (!_data.TryGetValue(site, out var perSeed))
                _data[site] = perSeed = Enumerable.Range(0, Seeds).Select(_ => new double[Steps][]).ToArray();
            using var cpu = tensor.detach().cpu().to(ScalarType.Float64).contiguous();
            perSeed[seedIndex][step] = cpu.data<double>().ToArray();
        }
        Sites = modelSites.Where(s => _data.ContainsKey(s.Name)).ToList();
    }

    /// <summary>Whether every seed and step of <paramref name="site"/> has its maps.</summary>
    public bool Complete(string site) => _data.TryGetValue(site, out var d) && d.All(s => s.All(t => t is not null));

    /// <summary>The [G, G] map of one prompt at one seed and step: one head, or the head average with <paramref name="head"/> = −1.</summary>
    public double[] Map(string site, int seed, int step, int prompt, int head = -1)
    {
        var (heads, groups) = _shapes[site];
        var flat = _data[site][seed][step] ?? throw new VDiTLensException($"no {Kind} for site {site}, seed #{seed}, step {step}");
        int size = groups * groups;
        if (head >= 0) return flat.AsSpan((prompt * heads + head) * size, size).ToArray();
        if (_averages.TryGetValue((site, seed, step, prompt), out var cached)) return cached;
        var mean = new double[size];
        for (int h = 0; h < heads; h++)
        {
            int offset = (prompt * heads + h) * size;
            for (int i = 0; i < size; i++) mean[i] += flat[offset + i] / heads;
        }
        return _averages[(site, seed, step, prompt)] = mean;
    }

    /// <summary>The head-averaged map of <paramref name="site"/> averaged over prompts, seeds and steps, as a [G, G] tensor.</summary>
    public Tensor MeanMap(string site)
    {
        int groups = _shapes[site].Groups;
        var mean = new double[groups * groups];
        int n = 0;
        for (int s = 0; s < Seeds; s++)
        for (int t = 0; t < Steps; t++)
        for (int p = 0; p < Prompts; p++)
        {
            var m = Map(site, s, t, p);
            for (int i = 0; i < mean.Length; i++) mean[i] += m[i];
            n++;
        }
        return torch.tensor(mean.Select(v => v / n).ToArray(), dtype: ScalarType.Float64).view(groups, groups);
    }
}

using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Sinks;

/// <summary>
/// One generation (one prompt, one seed) with its conditional-branch attention measured: received mass [H, Lk] and
/// entropy [H] per (site, step), the key layout of every site, the final latents and the decoded video (CPU).
/// </summary>
public sealed class ProbedRun : IDisposable
{
    public required string Prompt { get; init; }
    public required long Seed { get; init; }
    public required int Run { get; init; }
    public required Tensor Latents { get; init; }
    /// <summary>[1, F, H, W, 3] in [0, 1].</summary>
    public required Tensor Video { get; init; }
    public required IReadOnlyDictionary<(string Site, int Step), Tensor> Mass { get; init; }
    public required IReadOnlyDictionary<(string Site, int Step), Tensor> Entropy { get; init; }
    public required IReadOnlyDictionary<string, TokenLayout> Layouts { get; init; }
    /// <summary>Per site, which keys were real (not padding); absent where every key is.</summary>
    public IReadOnlyDictionary<string, bool[]> ValidKeys { get; init; } = new Dictionary<string, bool[]>();

    public IEnumerable<int> Steps => Mass.Keys.Select(k => k.Step).Distinct().Order();

    /// <summary>Received mass of a site averaged over the measured steps, [H, Lk] float64.</summary>
    public Tensor StepMean(string site)
    {
        var all = Mass.Where(kv => kv.Key.Site == site).Select(kv => kv.Value.to(ScalarType.Float64)).ToArray();
        if (all.Length == 0) throw new VDiTLensException($"site {site} was not measured in run {Run}");
        return TorchSharp.torch.stack(all).mean(new long[] { 0 });
    }

    public void Dispose()
    {
        Latents.Dispose();
        Video.Dispose();
        foreach (var t in Mass.Values.Concat(Entropy.Values)) t.Dispose();
    }
}

using TorchSharp;
using VDiTLens.IO;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Models.Common;

/// <summary>
/// Replaces a loaded transformer's parameters by a fresh default initialisation: those of a new model of the same
/// class and config built with a seed (on the CPU, so the device holds no third copy), copied in. The random-init
/// null of the structure study and the re-initialised blocks of retraining.
/// </summary>
public static class TransformerReinitialisation
{
    /// <summary>
    /// Re-initialises the parameters of <paramref name="model"/> whose names start with one of
    /// <paramref name="prefixes"/> (every parameter when null); returns how many were replaced.
    /// </summary>
    public static int Apply(IVideoTransformer model, ModelFolder folder, ComputeOptions options, long seed, IReadOnlyList<string>? prefixes = null)
    {
        using var _ = torch.no_grad();
        torch.manual_seed(seed);
        using var fresh = TransformerLoader.CreateRandom(folder, options with { Device = torch.CPU });
        var freshParams = ((nn.Module)fresh).named_parameters().ToDictionary(kv => kv.name, kv => kv.parameter);
        int replaced = 0;
        foreach (var (name, p) in ((nn.Module)model).named_parameters())
        {
            if (prefixes is not null && !prefixes.Any(prefix => name.StartsWith(prefix, StringComparison.Ordinal))) continue;
            if (!freshParams.TryGetValue(name, out var init))
                throw new VDiTLensException($"{folder.Path}/config.json: a freshly built model has no parameter '{name}'; the loaded weights do not match this config");
            p.copy_(init);
            replaced++;
        }
        return replaced;
    }
}
